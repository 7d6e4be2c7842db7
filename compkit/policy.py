"""The policy file: a YAML document validated into :class:`Policy` (pydantic).

A policy says how customer managers are appraised and paid for one cycle: the grade ladder and its salary
bands, allowances, the scorecard (categories, indicators, curves, 360 rater weights, deductions), rating bands,
the bonus curve and deferral, commission by product, salary review, promotion and demotion rules, benefits
(五险一金) and feedback texts. See DESIGN.md section 4 and ``data/policies/2025.yaml``.

Every error names the key path (``scorecard.indicators[3].weight``) and the rule that was broken.
Fractions (rates, weights, shares) are plain numbers in [0, 1]; money is in the policy's currency per month
unless a key says otherwise.
"""
from __future__ import annotations

import copy
import hashlib
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from compkit.errors import PolicyError, pydantic_message
from compkit.i18n import M_, N_, Message

CATEGORIES = ("performance", "ability", "attitude")
RATER_ROLES = ("self", "supervisor", "peer")
SURVEY_DIMENSIONS = ("attitude", "competence", "responsiveness", "overall", "all")
WEIGHT_TOLERANCE = 1e-9

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]


class _Model(BaseModel):
    """Strict base: unknown keys are errors (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


# --------------------------------------------------------------------------------------------- grades


class SalaryBand(_Model):
    """Monthly base salary range of a grade."""

    min: NonNegative
    mid: NonNegative
    max: NonNegative

    @model_validator(mode="after")
    def _ordered(self) -> SalaryBand:
        if not (self.min <= self.mid <= self.max):
            raise ValueError(M_("expected min <= mid <= max, got {min}, {mid}, {max}", min=self.min, mid=self.mid,
                                max=self.max))
        return self


class Grade(_Model):
    id: str
    title: str = ""
    base_monthly: SalaryBand
    target_bonus: Annotated[float, Field(ge=0.0, le=5.0)] = Field(
        description="target performance bonus as a share of annual base salary")
    key_role: bool = Field(False, description="key risk role: bonus deferral applies (稳健薪酬监管指引)")
    steps: list[NonNegative] | None = Field(
        None, description="pay steps (薪档) of the grade: monthly base (岗位工资) of step 1, 2, ..., increasing")

    @field_validator("steps")
    @classmethod
    def _steps_increasing(cls, steps: list[float] | None) -> list[float] | None:
        if steps is not None:
            if not steps:
                raise ValueError(M_("steps: give at least one step"))
            _check_increasing(steps, "steps", strict=True)
        return steps


# --------------------------------------------------------------------------------------------- curves


class RatioCurve(_Model):
    """achievement = actual / target; score = 0 below ``threshold``, else 100 x min(achievement, cap)."""

    type: Literal["ratio"]
    threshold: NonNegative = 0.0
    cap: Annotated[float, Field(gt=0.0)] = 1.2

    @model_validator(mode="after")
    def _threshold_below_cap(self) -> RatioCurve:
        if self.threshold > self.cap:
            raise ValueError(M_("threshold {threshold} is above cap {cap}", threshold=self.threshold, cap=self.cap))
        return self


class InverseCurve(_Model):
    """Lower is better: achievement = target / actual; then as the ratio curve."""

    type: Literal["inverse"]
    threshold: NonNegative = 0.0
    cap: Annotated[float, Field(gt=0.0)] = 1.2

    @model_validator(mode="after")
    def _threshold_below_cap(self) -> InverseCurve:
        if self.threshold > self.cap:
            raise ValueError(M_("threshold {threshold} is above cap {cap}", threshold=self.threshold, cap=self.cap))
        return self


class ScaleCurve(_Model):
    """A rating or survey scale mapped linearly onto 0-100: 100 x (x - min) / (max - min), clipped."""

    type: Literal["scale"]
    min: float = 1.0
    max: float = 5.0

    @model_validator(mode="after")
    def _increasing(self) -> ScaleCurve:
        if not self.max > self.min:
            raise ValueError(M_("the curve is not increasing: max {max} must be above min {min}", max=self.max,
                                min=self.min))
        return self


class Band(_Model):
    min: float
    score: float


class BandedCurve(_Model):
    """Lookup: the score of the highest band whose ``min`` is at or below x (below the first band: its score).

    ``input`` chooses what the curve reads: the achievement (actual / target) or the actual value itself.
    """

    type: Literal["banded"]
    input: Literal["achievement", "actual"] = "achievement"
    bands: list[Band] = Field(min_length=1)

    @field_validator("bands")
    @classmethod
    def _increasing(cls, bands: list[Band]) -> list[Band]:
        _check_increasing([b.min for b in bands], "bands[].min", strict=True)
        _check_increasing([b.score for b in bands], "bands[].score", strict=False)
        return bands


class PiecewiseCurve(_Model):
    """Straight lines between ``points`` [[x, y], ...], flat outside them. ``input``: achievement or actual.

    (The key is not ``on``: YAML 1.1 reads ``on`` as the boolean true.)"""

    type: Literal["piecewise"]
    input: Literal["achievement", "actual"] = "achievement"
    points: list[tuple[float, float]] = Field(min_length=2)

    @field_validator("points")
    @classmethod
    def _increasing(cls, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        _check_increasing([p[0] for p in points], "points[].x", strict=True)
        _check_increasing([p[1] for p in points], "points[].y", strict=False)
        return points


Curve = Annotated[RatioCurve | InverseCurve | ScaleCurve | BandedCurve | PiecewiseCurve,
                  Field(discriminator="type")]


def _check_increasing(values: list[float], what: str, strict: bool) -> None:
    for i in range(1, len(values)):
        bad = values[i] <= values[i - 1] if strict else values[i] < values[i - 1]
        if bad:
            msgid = (N_("the curve is not increasing: {what} must be strictly increasing, but item {i} ({value}) "
                        "follows {previous}") if strict else
                     N_("the curve is not increasing: {what} must be non-decreasing, but item {i} ({value}) follows "
                        "{previous}"))
            raise ValueError(M_(msgid, what=what, i=i, value=values[i], previous=values[i - 1]))


# ------------------------------------------------------------------------------------------ scorecard


class Indicator(_Model):
    """One scorecard indicator.

    sources:
      metrics     the metrics table (indicator column = id); ``aggregate`` says how months combine
      surveys     customer satisfaction: mean survey score of ``dimension`` (``all``: every response)
      complaints  ``measure``: count, upheld_rate or resolved_days (lower is better: use an inverse curve)
      ratings     360 ratings of item ``item`` (default: the id), combined with the scorecard's rater weights
      sales       ``measure: repeat_purchase``: share of distinct customers buying in two or more months
                  (customer loyalty); needs ``target``
      training    the training table (compkit.training): ``measure: hours`` (training hours in the cycle) or
                  ``certificates`` (distinct certificates held by the end of the period); no record = 0

    ``if_missing`` says what happens when a person has no value, or a ratio/inverse indicator has a missing
    or zero target (achievement undefined): never a silent inf or NaN.
    """

    id: str
    name: str = ""
    category: str
    weight: Fraction
    source: Literal["metrics", "surveys", "complaints", "ratings", "sales", "team", "training"]
    curve: Curve | None = None
    aggregate: Literal["sum", "mean", "last"] = "sum"
    dimension: Literal["attitude", "competence", "responsiveness", "overall", "all"] | None = None
    measure: Literal["count", "upheld_rate", "resolved_days", "repeat_purchase", "hours", "certificates"] | None = None
    item: str | None = None
    target: float | None = Field(None, description="fixed target, for sources without a target column")
    of: str | None = Field(None, description="source team: the indicator whose results the team adds up")
    team: Literal["branch", "region", "supervisor"] = Field(
        "branch", description="source team: the people of the person's branch or region (the person included), "
                              "or the people whose supervisor_id is the person")
    if_missing: Literal["zero", "target", "exclude"] = Field(
        "zero", description="no value, or no or zero target: score 0, score 100 (as if on target), or leave "
                            "the indicator out and share its weight over the category's other indicators")
    unit: Literal["count"] | None = Field(
        None, description="count: the results and targets are numbers of things (customers, referrals), shown "
                          "as whole numbers on statements; complaints counted and certificates are counts "
                          "without it, a team indicator is one when the indicator it adds up is")

    @model_validator(mode="after")
    def _source_fields(self) -> Indicator:
        if self.source == "surveys" and self.dimension is None:
            raise ValueError(M_("a surveys indicator needs 'dimension' (attitude, competence, responsiveness, "
                                "overall or all)"))
        if self.source == "complaints" and self.measure not in ("count", "upheld_rate", "resolved_days"):
            raise ValueError(M_("a complaints indicator needs 'measure': count, upheld_rate or resolved_days"))
        if self.source == "team" and self.of is None:
            raise ValueError(M_("indicator '{id}' (source team) needs 'of': the indicator the team adds up",
                                id=self.id))
        if self.source == "sales" and self.measure != "repeat_purchase":
            raise ValueError(M_("a sales indicator needs 'measure: repeat_purchase'"))
        if self.source == "training" and self.measure not in ("hours", "certificates"):
            raise ValueError(M_("a training indicator needs 'measure': hours or certificates"))
        if self.source != "ratings" and self.curve is None:
            raise ValueError(M_("indicator '{id}' (source {source}) needs a 'curve'", id=self.id, source=self.source))
        needs_target = self.source in ("surveys", "complaints", "sales", "training")
        if needs_target and isinstance(self.curve, (RatioCurve, InverseCurve)) and self.target is None:
            raise ValueError(M_("indicator '{id}' uses a {type} curve on source {source}, which has no target "
                                "column: set 'target'", id=self.id,
                                type=self.curve.type, source=self.source))
        if self.target is not None and self.target <= 0:
            raise ValueError(M_("target must be positive, got {target}", target=self.target))
        return self

    @property
    def rating_item(self) -> str:
        return self.item or self.id


class RaterWeights(_Model):
    """360 rater weights (sum to 1), applied to the mean score of each role."""

    self_: Fraction = Field(alias="self")
    supervisor: Fraction
    peer: Fraction
    exclude_self: bool = Field(False, description="ignore self-ratings; their weight is shared out")
    min_peers: Annotated[int, Field(ge=1)] = Field(
        2, description="fewer distinct peers than this: peer weight is shared out over the other roles")
    calibrate: Literal["none", "rater_effects"] = Field(
        "none", description="rater_effects: before the 360 combination, each supervisor's and peer's ratings are "
                            "adjusted by minus that rater's leniency estimated over the rater-ratee network "
                            "(compkit.raters.adjust_ratings); none (default): ratings as given")
    min_links: Annotated[int, Field(ge=1)] = Field(
        2, description="calibrate: a rater with fewer distinct ratees than this is not adjusted")

    @model_validator(mode="after")
    def _sum_to_one(self) -> RaterWeights:
        total = self.self_ + self.supervisor + self.peer
        if abs(total - 1.0) > WEIGHT_TOLERANCE:
            raise ValueError(M_("rater weights self + supervisor + peer sum to {total:g}, expected 1", total=total))
        return self

    def as_dict(self) -> dict[str, float]:
        return {"self": self.self_, "supervisor": self.supervisor, "peer": self.peer}


class RatingScale(_Model):
    min: float = 1.0
    max: float = 5.0

    @model_validator(mode="after")
    def _increasing(self) -> RatingScale:
        if not self.max > self.min:
            raise ValueError(M_("max {max} must be above min {min}", max=self.max, min=self.min))
        return self


class Deduction(_Model):
    """Points taken off the composite: ``points`` per unit (upheld complaint), at most ``max`` in a cycle."""

    id: str
    source: Literal["complaints"] = "complaints"
    measure: Literal["upheld", "count"] = "upheld"
    points: NonNegative
    max: NonNegative


class ScoreRange(_Model):
    min: float = 0.0
    max: float = 120.0


class Population(_Model):
    """A scorecard for a population of employees (scorecards by business line and grade).

    ``when``: employee column -> allowed values (e.g. ``{line: [对公], grade: [CM1, CM2, SCM]}``); a person
    belongs to the population when every listed column holds one of its values. ``categories``: the category
    weights (default: the scorecard's). ``weights``: indicator id -> weight within its category; indicators of
    ``scorecard.indicators`` not listed are not on this scorecard (default: the scorecard's own weights)."""

    id: str
    name: str = ""
    when: dict[str, list[str]] = Field(min_length=1)
    categories: dict[str, Fraction] | None = None
    weights: dict[str, Fraction] | None = None


class Scorecard(_Model):
    categories: dict[str, Fraction]
    indicators: list[Indicator] = Field(min_length=1)
    raters: RaterWeights
    rating_scale: RatingScale = RatingScale()
    rating_curve: Curve | None = Field(
        None, description="curve of ratings-sourced indicators without a curve of their own (applied to the "
                          "360 combined score); default: the rating scale mapped linearly onto 0-100")
    deductions: list[Deduction] = []
    score_range: ScoreRange = ScoreRange()

    @model_validator(mode="after")
    def _weights(self) -> Scorecard:
        problems = []
        for name in self.categories:
            if name not in CATEGORIES:
                problems.append(M_("scorecard.categories: unknown category '{name}', expected one of {values}",
                                   name=name, values=', '.join(CATEGORIES)))
        total = sum(self.categories.values())
        if abs(total - 1.0) > WEIGHT_TOLERANCE:
            problems.append(M_("scorecard.categories: weights sum to {total:g}, expected 1", total=total))
        ids = [ind.id for ind in self.indicators]
        for i, ind in enumerate(self.indicators):
            if ind.category not in self.categories:
                problems.append(M_("scorecard.indicators[{i}].category: unknown category '{category}', expected "
                                   "one of {values}", i=i, category=ind.category,
                                   values=', '.join(self.categories)))
            if ids.count(ind.id) > 1 and ids.index(ind.id) == i:
                problems.append(M_("scorecard.indicators[{i}].id: '{id}' appears {ids} times", i=i, id=ind.id,
                                   ids=ids.count(ind.id)))
        for name in self.categories:
            members = [ind for ind in self.indicators if ind.category == name]
            if not members:
                problems.append(M_("scorecard.categories.{name}: no indicator belongs to this category", name=name))
                continue
            s = sum(ind.weight for ind in members)
            if abs(s - 1.0) > WEIGHT_TOLERANCE:
                problems.append(M_("scorecard.indicators: weights in category '{name}' sum to {s:g}, expected 1",
                                   name=name, s=s))
        for i, ind in enumerate(self.indicators):
            if ind.source == "team" and ind.of not in ids:
                problems.append(M_("scorecard.indicators[{i}].of: unknown indicator '{of}'", i=i, of=ind.of))
            if ind.source == "team" and ind.of in ids and self.indicator(ind.of).source == "team":
                problems.append(M_("scorecard.indicators[{i}].of: '{of}' is itself a team indicator", i=i, of=ind.of))
        if problems:
            raise ValueError(_joined(problems))
        return self

    def indicator(self, indicator_id: str) -> Indicator:
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        raise KeyError(indicator_id)


# ------------------------------------------------------------------------------------------ ratings


#: display names of a five-band rating scale, best first (考核等级: 优秀 / 良好 / 称职 / 基本称职 / 不称职)
DEFAULT_RATING_NAMES = ("优秀", "良好", "称职", "基本称职", "不称职")


class RatingBand(_Model):
    """A rating band: ``label`` is the rating's code in data and rules (history, merit matrix, promotion);
    ``name`` is what people read (statements, reports). Without a name, a five-band scale reads 优秀, 良好, 称职,
    基本称职, 不称职 from best to worst, and other scales read the label."""

    label: str
    min: float
    name: str | None = None


class Guided(_Model):
    shares: dict[str, Fraction]
    within: Literal["region", "branch", "all"] = "region"


class Ratings(_Model):
    method: Literal["absolute", "guided"] = "absolute"
    bands: list[RatingBand] = Field(min_length=2)
    guided: Guided | None = None

    @model_validator(mode="after")
    def _bands(self) -> Ratings:
        mins = [b.min for b in self.bands]
        for i in range(1, len(mins)):
            if mins[i] >= mins[i - 1]:
                raise ValueError(M_("ratings.bands must go from best to worst with decreasing 'min': "
                                    "bands[{i}].min {min} is not below {min2}",
                                    i=i, min=mins[i], min2=mins[i - 1]))
        labels = [b.label for b in self.bands]
        if len(set(labels)) != len(labels):
            raise ValueError(M_("ratings.bands: labels must be unique"))
        names = list(self.names.values())
        if len(set(names)) != len(names):
            raise ValueError(M_("ratings.bands: names must be unique, got {names}", names=names))
        for b in self.bands:
            if b.name is not None and b.name != b.label and b.name in labels:
                raise ValueError(M_("ratings.bands: the name '{name}' of rating '{label}' is another rating's label",
                                    name=b.name, label=b.label))
        if self.method == "guided" and self.guided is None:
            raise ValueError(M_("ratings.method is 'guided' but ratings.guided (shares, within) is missing"))
        if self.guided is not None:
            unknown = set(self.guided.shares) - set(labels)
            if unknown:
                raise ValueError(M_("ratings.guided.shares: unknown rating(s) {unknown}, expected labels of "
                                    "ratings.bands {labels}",
                                    unknown=sorted(unknown), labels=labels))
            total = sum(self.guided.shares.values())
            if abs(total - 1.0) > WEIGHT_TOLERANCE:
                raise ValueError(M_("ratings.guided.shares sum to {total:g}, expected 1", total=total))
        return self

    @property
    def labels(self) -> list[str]:
        """Rating labels from best to worst."""
        return [b.label for b in self.bands]

    @property
    def names(self) -> dict[str, str]:
        """label -> display name, best first: a band's ``name``; else, on a five-band scale, the Chinese default
        (优秀, 良好, 称职, 基本称职, 不称职 by position); else the label itself."""
        five = len(self.bands) == len(DEFAULT_RATING_NAMES)
        return {b.label: b.name if b.name is not None else (DEFAULT_RATING_NAMES[i] if five else b.label)
                for i, b in enumerate(self.bands)}


# -------------------------------------------------------------------------------------------- bonus


class Deferral(_Model):
    """A share of performance pay (the bonus and, where listed in ``components``, commission) paid in equal parts
    over the next ``years`` years (延期支付, 商业银行稳健薪酬监管指引 第十六条)."""

    share: Fraction = 0.0
    years: Annotated[int, Field(ge=1, le=10)] = 3
    applies_to: Literal["key_roles", "all"] = "key_roles"
    min_bonus: NonNegative = Field(0.0, description="bonuses below this amount are paid in full")
    components: list[Literal["bonus", "commission"]] = Field(
        ["bonus"], min_length=1, description="which performance-pay components are deferred")
    grades: list[str] | None = Field(
        None, description="grades whose pay is deferred (chosen roles); replaces applies_to when given")
    share_by_grade: dict[str, Fraction] = Field(
        {}, description="deferred share for particular grades (e.g. 0.5 for senior management)")
    due: str = Field("03-31", pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$",
                     description="month-day on which each year's deferred part is paid (MM-DD)")


class BonusPool(_Model):
    """Optional pool: bonuses are scaled so they add up to ``amount`` (the scaling factor is reported)."""

    amount: Annotated[float, Field(gt=0.0)]


class Bonus(_Model):
    """Performance bonus = target bonus x annual base x payout(basis) x proration."""

    basis: Literal["composite", "rating"] = "composite"
    curve: list[tuple[float, float]] | None = None
    by_rating: dict[str, NonNegative] | None = None
    deferral: Deferral = Deferral()
    pool: BonusPool | None = None

    @model_validator(mode="after")
    def _basis(self) -> Bonus:
        if self.basis == "composite":
            if not self.curve or len(self.curve) < 2:
                raise ValueError(M_("bonus.curve needs at least two points [score, payout] when basis is composite"))
            _check_increasing([p[0] for p in self.curve], "bonus.curve[].score", strict=True)
            _check_increasing([p[1] for p in self.curve], "bonus.curve[].payout", strict=False)
            if any(p[1] < 0 for p in self.curve):
                raise ValueError(M_("bonus.curve: payouts must be >= 0"))
        if self.basis == "rating" and not self.by_rating:
            raise ValueError(M_("bonus.by_rating (rating -> payout multiple) is required when basis is rating"))
        return self


# ---------------------------------------------------------------------------------------- commission


class Tier(_Model):
    """A slice of the commission basis: from ``from`` (default: the previous tier's upto) to ``upto``."""

    from_: NonNegative | None = Field(None, alias="from")
    upto: Annotated[float, Field(gt=0.0)] | None = None
    rate: Fraction


class QuotaTier(_Model):
    """A band of attainment (the person's basis / the person's own target): up to ``upto`` (a share of the
    target, e.g. 0.8 = 80%; the last band is open) the base rate is multiplied by ``multiplier``."""

    upto: Annotated[float, Field(gt=0.0)] | None = None
    multiplier: Annotated[float, Field(ge=0.0, le=100.0)]


class Quota(_Model):
    """Quota-relative tiers (accelerators and decelerators): bands stated as shares of each person's own
    target, each multiplying the product's base rate.

    ``indicator``: the metrics indicator whose ``target`` column holds the person's monthly target for the
    product. ``target``: ``to_date`` compares the cycle-to-date basis with the target summed through the month
    (a month's balance with the month's target for balance products); ``cycle`` with the whole cycle's target.
    ``method``: marginal (each slice of attainment at its band's multiplier) or retroactive (the whole basis at
    the multiplier of the band reached). ``if_no_target``: no or zero target: ``base`` (multiplier 1) or
    ``zero`` (no commission)."""

    indicator: str
    tiers: list[QuotaTier] = Field(min_length=1)
    method: Literal["marginal", "retroactive"] = "marginal"
    target: Literal["to_date", "cycle"] = "to_date"
    if_no_target: Literal["base", "zero"] = "base"

    @field_validator("tiers")
    @classmethod
    def _bands(cls, tiers: list[QuotaTier]) -> list[QuotaTier]:
        _check_tiers([Tier(upto=t.upto, rate=0.0) for t in tiers])
        return tiers


class Coefficients(_Model):
    """Per-row coefficients on the amount before the rate: basis = amount x values[row's ``column``], e.g.
    standard-premium coefficients (折标系数) by ``payment_term`` (趸交, 期交3, 期交5, 期交10). A value not listed
    takes ``default``; without a default it is a data error."""

    column: str
    values: dict[str, NonNegative] = Field(min_length=1)
    default: NonNegative | None = None


class NplClawback(_Model):
    """Commission on a loan is clawed back when the loan turns non-performing within ``months`` months of the
    disbursement month: the sales rows of the loan (linked by ``loan_id``) are reversed in the month of the
    loan's ``npl_date``, so the cycle-to-date true-up pays back what was paid on them."""

    months: Annotated[int, Field(ge=1, le=120)]


class Product(_Model):
    """Commission on a product: exactly one of ``rate`` (share of the basis), ``rate_per_10k`` (元 per
    10,000 of the basis) or ``tiers`` with ``method`` marginal or retroactive.

    ``basis``: ``amount`` (the sum of sales amounts, e.g. premiums, fee income, disbursements) or ``balance``
    (each row's amount is a month's average daily balance or holding: rates are annual, paid monthly, so the
    month pays rate x balance / 12). ``increase_rate_per_10k`` (balance only): an annual rate on the increase
    of the month's balance over the rows' ``baseline`` (last year's average; no pay on a decrease).
    ``on_ftp_spread``: the basis is the balance x the row's ``ftp_spread`` (annual FTP spread, a fraction): the
    rate is then a share of FTP profit. ``coefficients``: per-row coefficients on the amount (折标系数).
    ``quota``: bands of the person's own target multiplying the base rate (needs ``rate`` or ``rate_per_10k``).
    ``npl_clawback``: loans turning non-performing within N months are reversed."""

    id: str
    name: str = ""
    rate: Fraction | None = None
    rate_per_10k: Annotated[float, Field(ge=0.0, le=10000.0)] | None = None
    tiers: list[Tier] | None = None
    method: Literal["marginal", "retroactive"] = "marginal"
    basis: Literal["amount", "balance"] = "amount"
    increase_rate_per_10k: Annotated[float, Field(ge=0.0, le=10000.0)] | None = None
    on_ftp_spread: bool = False
    coefficients: Coefficients | None = None
    quota: Quota | None = None
    npl_clawback: NplClawback | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Product:
        given = [k for k in ("rate", "rate_per_10k", "tiers") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(M_("product '{id}': give exactly one of rate, rate_per_10k or tiers (found {given})",
                                id=self.id, given=given or 'none'))
        if self.tiers is not None:
            _check_tiers(self.tiers)
        if self.quota is not None and self.tiers is not None:
            raise ValueError(M_("product '{id}': quota tiers multiply a base 'rate' or 'rate_per_10k'; give one of "
                                "them instead of amount tiers", id=self.id))
        if self.increase_rate_per_10k is not None and self.basis != "balance":
            raise ValueError(M_("product '{id}': increase_rate_per_10k needs basis: balance", id=self.id))
        if self.npl_clawback is not None and self.basis != "amount":
            raise ValueError(M_("product '{id}': npl_clawback applies to disbursed amounts (basis: amount)",
                                id=self.id))
        return self

    @property
    def sales_columns(self) -> list[str]:
        """Optional sales columns this product's rules read (checked when the data is loaded)."""
        cols = []
        if self.coefficients is not None:
            cols.append(self.coefficients.column)
        if self.on_ftp_spread:
            cols.append("ftp_spread")
        if self.increase_rate_per_10k is not None:
            cols.append("baseline")
        if self.npl_clawback is not None:
            cols += ["loan_id", "npl_date"]
        return cols

    def tier_table(self) -> tuple[list[float], list[float]]:
        """(upper bounds, rates) with the last bound +inf; a flat rate is a single tier."""
        if self.tiers is not None:
            return ([t.upto if t.upto is not None else math.inf for t in self.tiers],
                    [t.rate for t in self.tiers])
        rate = self.rate if self.rate is not None else self.rate_per_10k / 10000.0
        return [math.inf], [rate]


def _check_tiers(tiers: list[Tier]) -> None:
    lower = 0.0
    for i, t in enumerate(tiers):
        if t.from_ is not None and t.from_ != lower:
            msgid = (N_("tiers[{i}] starts at {start:g} but the previous tier ends at {lower:g}: a gap between tiers")
                     if t.from_ > lower else
                     N_("tiers[{i}] starts at {start:g} but the previous tier ends at {lower:g}: an overlap between "
                        "tiers"))
            raise ValueError(M_(msgid, i=i, start=t.from_, lower=lower))
        last = i == len(tiers) - 1
        if t.upto is None and not last:
            raise ValueError(M_("tiers[{i}] has no 'upto' but is not the last tier", i=i))
        if last and t.upto is not None:
            raise ValueError(M_("the last tier (tiers[{i}]) must be open-ended: remove 'upto' ({upto:g}) so that "
                                "every amount falls in a tier", i=i, upto=t.upto))
        if t.upto is not None:
            if t.upto <= lower:
                raise ValueError(M_("tiers[{i}].upto {upto:g} is not above the tier's start {lower:g}: an overlap "
                                    "between tiers", i=i, upto=t.upto,
                                    lower=lower))
            lower = t.upto


class Gate(_Model):
    """Composite score below ``min_composite`` pays ``factor_below`` x the commission."""

    min_composite: float = 60.0
    factor_below: Fraction = 0.5


class Cap(_Model):
    """Commission for the cycle is capped at ``times_annual_base`` x the prorated annual base salary."""

    times_annual_base: Annotated[float, Field(gt=0.0)]


class Commission(_Model):
    accumulate: Literal["month", "cycle_to_date"] = "cycle_to_date"
    products: list[Product] = Field(min_length=1)
    gate: Gate | None = None
    cap: Cap | None = None

    @model_validator(mode="after")
    def _unique(self) -> Commission:
        ids = [p.id for p in self.products]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(M_("commission.products: duplicate product id(s) {dupes}", dupes=dupes))
        return self

    def product(self, product_id: str) -> Product:
        for p in self.products:
            if p.id == product_id:
                return p
        raise KeyError(product_id)


# ------------------------------------------------------------------------------- salary review etc.


class SalaryReview(_Model):
    """Merit increase by rating (rows) and compa-ratio band (columns: below the first bound, between, above
    the last). compa-ratio = base_monthly / grade midpoint. ``budget``: share of base payroll."""

    compa_ratio_bands: list[float] = Field(min_length=1)
    merit_matrix: dict[str, list[Fraction]]
    budget: Fraction
    method: Literal["merit", "steps"] = Field(
        "merit", description="merit: the merit matrix (percent); steps: people on a pay step move by step_moves "
                             "(调档) and get the new step's pay; people without a step keep the merit matrix")
    step_moves: dict[str, int] = Field({}, description="rating -> steps moved (negative: down) when method is steps")

    @model_validator(mode="after")
    def _shape(self) -> SalaryReview:
        _check_increasing(self.compa_ratio_bands, "salary_review.compa_ratio_bands", strict=True)
        width = len(self.compa_ratio_bands) + 1
        for rating, row in self.merit_matrix.items():
            if len(row) != width:
                raise ValueError(M_("salary_review.merit_matrix.{rating} has {n_row} values, expected {width} (one "
                                    "per compa-ratio band)", rating=rating,
                                    n_row=len(row), width=width))
        return self


class PromotionRule(_Model):
    from_: str = Field(alias="from")
    to: str
    min_years_in_grade: NonNegative = 0.0
    last_ratings_at_least: list[str] = Field(
        default_factory=list, description="most recent first: this cycle's rating, then the history")
    min_composite: float | None = None
    min_indicator_scores: dict[str, float] = {}
    #: prerequisites from the training table (compkit.training): certificates held by the end of the cycle, all
    #: of them (e.g. a wealth-management certificate for SCM), and training hours in the cycle
    certificates: list[str] = []
    min_training_hours: NonNegative | None = None


class DemotionRule(_Model):
    from_: str = Field(alias="from")
    to: str
    last_ratings_at_most: list[str] = Field(min_length=1, description="most recent first")


class BaseLimits(_Model):
    floor: NonNegative
    cap: NonNegative

    @model_validator(mode="after")
    def _ordered(self) -> BaseLimits:
        if self.floor > self.cap:
            raise ValueError(M_("floor {floor:g} is above cap {cap:g}", floor=self.floor, cap=self.cap))
        return self


class SocialInsurance(_Model):
    """``base``: floor and cap in force January-June of the cycle (set the July before); ``base_from_july``:
    those set in July of the cycle (the new contribution year); absent = unchanged."""

    base: BaseLimits
    base_from_july: BaseLimits | None = None
    employee: dict[str, Fraction]
    employer: dict[str, Fraction]

    def limits(self, july: bool) -> BaseLimits:
        return self.base_from_july if july and self.base_from_july is not None else self.base


class HousingFund(_Model):
    """住房公积金 and 补充住房公积金 on the housing-fund base. ``tax_free_rate``: each side's basic plus supplementary
    contribution is free of income tax up to this share of the base, the base capped at 3x the city's average
    wage (财税〔2006〕10号: 12%); the employee's excess is not deductible, the employer's excess is taxable wages."""

    base: BaseLimits
    base_from_july: BaseLimits | None = None
    employee: Fraction
    employer: Fraction
    supplementary_employee: Fraction = 0.0
    supplementary_employer: Fraction = 0.0
    tax_free_rate: Fraction = 0.12

    def limits(self, july: bool) -> BaseLimits:
        return self.base_from_july if july and self.base_from_july is not None else self.base


class Annuity(_Model):
    """企业年金 on the individual's contribution base (the social-insurance base). 企业年金办法 (人社部令第36号,
    2018): employer at most 8% of wages, employer + employee at most 12%. The employee's contribution is
    deductible from taxable income up to ``deductible_rate`` (4%) of the base (财税〔2013〕103号)."""

    employer: Fraction = 0.0
    employee: Fraction = 0.0
    deductible_rate: Fraction = 0.04

    @model_validator(mode="after")
    def _limits(self) -> Annuity:
        if self.employer > 0.08 + 1e-12:
            raise ValueError(M_("employer rate {employer:g} is above 0.08 (企业年金办法 第十五条)",
                                employer=self.employer))
        if self.employer + self.employee > 0.12 + 1e-12:
            raise ValueError(M_("employer + employee {total:g} is above 0.12 (企业年金办法 第十五条)",
                                total=self.employer + self.employee))
        return self


class Benefits(_Model):
    """五险一金 and 企业年金. Each person's base = last year's average monthly wage (employees.si_base, else
    history.monthly_wage, else the first month's wage for joiners, else this cycle's average monthly pay with
    the bonus at target as a stand-in), clamped to the floor and cap in force that month; contributions are
    monthly."""

    social_insurance: SocialInsurance
    housing_fund: HousingFund
    annuity: Annuity = Annuity()


# ---------------------------------------------------------------------------------------------- tax


class TaxBracket(_Model):
    """One row of a progressive table: taxable income up to ``upto`` (inclusive; None = no limit) at
    ``rate``, minus ``quick_deduction`` (速算扣除数)."""

    upto: NonNegative | None = None
    rate: Fraction
    quick_deduction: NonNegative = 0.0


def _brackets(rows: list[tuple[float | None, float, float]]) -> list[TaxBracket]:
    return [TaxBracket(upto=u, rate=r, quick_deduction=q) for u, r, q in rows]


#: 个人所得税法 (2018年修正) 附表一, 综合所得 yearly amounts (CNY)
ANNUAL_TAX_TABLE = _brackets([(36000, 0.03, 0), (144000, 0.10, 2520), (300000, 0.20, 16920),
                              (420000, 0.25, 31920), (660000, 0.30, 52920), (960000, 0.35, 85920),
                              (None, 0.45, 181920)])
#: 财税〔2018〕164号 附件 按月换算后的综合所得税率表 (CNY per month), applied to annual bonus / 12
MONTHLY_TAX_TABLE = _brackets([(3000, 0.03, 0), (12000, 0.10, 210), (25000, 0.20, 1410), (35000, 0.25, 2660),
                               (55000, 0.30, 4410), (80000, 0.35, 7160), (None, 0.45, 15160)])
#: 专项附加扣除 legal monthly amounts from 2023 (国发〔2018〕41号; infant care added by 国发〔2022〕8号;
#: children's education, infant care and elderly support raised from 1 January 2023 by
#: 国发〔2023〕13号). children_education and infant_care are per child;
#: continuing_education is 400 a month (degree) or 3,600 in the year a certificate is obtained;
#: serious_illness is yearly (up to 80,000, claimed at the annual reconciliation); housing_rent 1,500 is the
#: amount for the largest cities (1,100 / 800 elsewhere).
SPECIAL_DEDUCTIONS_2023 = {"children_education": 2000.0, "continuing_education": 3600.0, "serious_illness": 80000.0,
                           "housing_loan_interest": 1000.0, "housing_rent": 1500.0, "elderly_support": 3000.0,
                           "infant_care": 2000.0}

#: the Chinese names of the kinds, accepted in the deductions table
DEDUCTION_KIND_NAMES = {"子女教育": "children_education", "继续教育": "continuing_education",
                        "大病医疗": "serious_illness", "住房贷款利息": "housing_loan_interest",
                        "住房租金": "housing_rent", "赡养老人": "elderly_support",
                        "3岁以下婴幼儿照护": "infant_care", "婴幼儿照护": "infant_care"}


class Tax(_Model):
    """Individual income tax on wages (个人所得税). Defaults are the law in force for 2019-2027.

    bonus: how the annual bonus is taxed — ``separate`` (财税〔2018〕164号 一, extended to 2027-12-31 by 财政部 税务总局
    公告2023年第30号), ``combined`` with the year's wages, or ``best`` (the lower tax, per person).
    deferred_bonus: a deferred bonus is taxed in the year it is paid, ``as_wages`` or ``as_bonus``.
    bonus_month: the month of the cycle (1-12) the bonus is paid in (for combined withholding and the net table).
    basic_deduction: 5,000 a month (个人所得税法 第六条; 国家税务总局公告2018年第61号 cumulative withholding).
    reconciliation_exempt_due: an amount due at the annual reconciliation up to this is waived
    (财政部 税务总局公告2023年第32号: 400).
    """

    bonus: Literal["separate", "combined", "best"] = "best"
    deferred_bonus: Literal["as_wages", "as_bonus"] = "as_bonus"
    bonus_month: Annotated[int, Field(ge=1, le=12)] = 12
    basic_deduction: NonNegative = 5000.0
    annual_table: list[TaxBracket] = Field(default_factory=lambda: list(ANNUAL_TAX_TABLE), min_length=1)
    monthly_table: list[TaxBracket] = Field(default_factory=lambda: list(MONTHLY_TAX_TABLE), min_length=1)
    special_deductions: dict[str, NonNegative] = Field(default_factory=lambda: dict(SPECIAL_DEDUCTIONS_2023))
    reconciliation_exempt_due: NonNegative = 400.0

    @field_validator("annual_table", "monthly_table")
    @classmethod
    def _table(cls, rows: list[TaxBracket]) -> list[TaxBracket]:
        for i, row in enumerate(rows):
            last = i == len(rows) - 1
            if (row.upto is None) != last:
                raise ValueError(M_("row {i}: only the last row has no 'upto' (and it must have none)", i=i))
            if i and not last and row.upto <= rows[i - 1].upto:
                raise ValueError(M_("row {i}: upto {upto:g} is not above the previous row's", i=i, upto=row.upto))
            if i:
                prev = rows[i - 1]
                expected = prev.quick_deduction + prev.upto * (row.rate - prev.rate)
                if abs(row.quick_deduction - expected) > 0.5:
                    raise ValueError(M_("row {i}: quick deduction {quick_deduction:g} does not continue the table "
                                        "(expected {expected:g})", i=i,
                                        quick_deduction=row.quick_deduction,
                                        expected=expected))
        return rows


class NewHireProtection(_Model):
    """新人保护期: for ``months`` months after the hire date, the performance bonus pays at least ``min_payout``
    times the target bonus (for the protected days), and, with ``no_demotion``, nobody is demoted."""

    months: Annotated[int, Field(ge=1, le=36)]
    min_payout: Annotated[float, Field(ge=0.0, le=5.0)] = 1.0
    no_demotion: bool = True


class Feedback(_Model):
    frequency: Literal["monthly", "quarterly"] = "quarterly"
    suggestions: dict[str, str] = {}
    strengths: dict[str, str] = {}


class Publication(_Model):
    """names: pseudonyms (default) or names in the published results; min_group: k of the k-anonymous list and the
    smallest group whose figures are shown; min_cell: in the rating distribution by branch, a rating held by fewer
    than this many people (but more than none) is withheld, with one complementary cell (3 by default)."""
    names: Literal["pseudonym", "name"] = "pseudonym"
    min_group: Annotated[int, Field(ge=1)] = 5
    min_cell: Annotated[int, Field(ge=1)] = 3


class Appeals(_Model):
    window_days: Annotated[int, Field(ge=1)] = 30


# ------------------------------------------------------------------------ sound pay, leavers, wage bill

#: 商业银行稳健薪酬监管指引 (原银监会, 银监发〔2010〕14号): the source of the compliance defaults
SOUND_PAY_SOURCE = "商业银行稳健薪酬监管指引（银监发〔2010〕14号）"

#: exit reasons of the employees table (``exit_reason``)
EXIT_REASONS = ("resignation", "retirement", "dismissal", "transfer", "death")


class SoundPay(_Model):
    """Limits of the sound-pay compliance checks (稳健薪酬); defaults from the guideline, cited in ``source``.

    max_fixed_share: fixed pay / total pay per person and per grade (基本薪酬一般不高于薪酬总额的35%).
    min_deferral_share / min_deferral_share_senior / min_deferral_years: deferred share of performance pay for key
    roles (>= 40%), senior management (``senior_grades``, > 50%), over >= 3 years (第十六条).
    max_performance_multiple: performance pay <= this multiple of base pay (主要负责人 3 倍以内), unchecked if None.
    """

    source: str = SOUND_PAY_SOURCE
    max_fixed_share: Fraction | None = 0.35
    fixed_components: list[Literal["base_pay", "allowances"]] = Field(["base_pay", "allowances"], min_length=1)
    min_deferral_share: Fraction = 0.40
    min_deferral_share_senior: Fraction = 0.50
    senior_grades: list[str] = []
    min_deferral_years: Annotated[int, Field(ge=1, le=10)] = 3
    max_performance_multiple: NonNegative | None = None


class LeaverRule(_Model):
    """What a leaver with this exit reason gets: deferred pay forfeited, kept on schedule or paid early; the
    cycle's bonus prorated by days employed or forfeited."""

    deferred: Literal["forfeit", "keep", "pay_early"] = "keep"
    bonus: Literal["prorate", "forfeit"] = "prorate"


class UnitIndicator(_Model):
    """One indicator of the unit scorecard: achievement = sum(actual) / sum(target) over the unit's people
    (target / actual for an indicator scored lower-is-better), capped at ``WageBill.cap``."""

    indicator: str
    weight: Fraction


class WageBill(_Model):
    """Top-down allocation of the year's wage bill (工资总额 -> 二次分配): head office -> ``levels`` -> people."""

    amount: Annotated[float, Field(gt=0.0)]
    levels: list[str] = Field(["region", "branch"], min_length=1,
                              description="employees columns naming the units, top-down")
    headcount_weight: Fraction = Field(0.5, description="share of each split by head-count; the rest by results")
    scorecard: list[UnitIndicator] = []
    cap: Annotated[float, Field(gt=0.0)] = 1.5
    people: Literal["bonus", "composite"] = Field(
        "bonus", description="last level: by the policy's bonus (target x payout) or by fte x days x composite")

    @model_validator(mode="after")
    def _weights(self) -> WageBill:
        if self.scorecard and abs(sum(u.weight for u in self.scorecard) - 1.0) > 1e-9:
            raise ValueError(M_("wage_bill.scorecard: weights must sum to 1"))
        if not self.scorecard and self.headcount_weight < 1.0:
            raise ValueError(M_("wage_bill: without a scorecard the split is by head-count only: set "
                                "headcount_weight to 1 or list unit indicators"))
        return self


class Award(_Model):
    """A special award (单项奖 / 专项激励), paid by the engine (``compkit.awards``) on top of the bonus.

    measure: ``composite`` (the overall score), ``indicator_score`` (an indicator's score), ``indicator_growth``
    (a metrics indicator's actual in the last month of the period minus the first, e.g. deposit growth, CNY) or
    ``sales`` (the sales of ``product`` in the period: a campaign). ``period``: [first month, last month]
    (YYYY-MM) of a campaign, default the whole cycle. Who is eligible: ``among`` all or ``new_hires`` (hired
    within ``new_hire_months`` before the end of the cycle), still employed at the end of the cycle, with a
    composite of at least ``min_composite`` when set. Who wins: the ``winners`` highest (per ``within``: all, region
    or branch; ties at the last place all win) among those whose measure is at least ``min_value`` (when set; a
    measure must be above 0 to win). Amount per winner: ``amount`` plus ``rate`` x the measure (a campaign's
    commission-like share of its sales).
    """

    id: str
    name: str | None = None
    measure: Literal["composite", "indicator_score", "indicator_growth", "sales"]
    indicator: str | None = None
    product: str | None = None
    period: tuple[str, str] | None = None
    among: Literal["all", "new_hires"] = "all"
    new_hire_months: Annotated[int, Field(ge=1)] = 12
    within: Literal["all", "region", "branch"] = "all"
    winners: Annotated[int, Field(ge=1)] | None = None
    min_value: float | None = None
    min_composite: float | None = None
    amount: NonNegative = 0.0
    rate: Fraction | None = None

    @model_validator(mode="after")
    def _complete(self) -> Award:
        needs = {"indicator_score": "indicator", "indicator_growth": "indicator", "sales": "product"}
        if self.measure in needs and getattr(self, needs[self.measure]) is None:
            raise ValueError(M_("measure {measure} needs '{need}'", measure=self.measure, need=needs[self.measure]))
        if self.winners is None and self.min_value is None:
            raise ValueError(M_("say who wins: 'winners' (the top n) and/or 'min_value'"))
        if self.amount == 0 and not self.rate:
            raise ValueError(M_("an award pays something: 'amount' and/or 'rate'"))
        if self.period is not None:
            for month in self.period:
                if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
                    raise ValueError(M_("period: {month} is not a month YYYY-MM", month=repr(month)))
            if self.period[0] > self.period[1]:
                raise ValueError(M_("period: {period} is after {period2}", period=self.period[0],
                                    period2=self.period[1]))
        return self


class Inputs(_Model):
    """What loading does with two kinds of doubtful input rows (README "Policy file", ``inputs``).

    zero_target: a metrics row with target 0 and a positive actual (achievement undefined). ``refuse`` (default):
      a data problem like any other; ``missing``: the target is taken as missing, so the indicator's
      ``if_missing`` rule scores it; ``keep``: scored as given (a ratio curve then gives no points).
    supervisor_rating: a rating with rater_role ``supervisor`` whose rater is not the employee's
      ``supervisor_id`` (or is the employee themself). ``refuse`` (default); ``drop``: the rating is left out;
      ``keep``: used as given.
    Rows kept or changed under ``missing``, ``drop`` or ``keep`` are listed in ``Dataset.notes`` (and printed by
    ``compkit validate``)."""

    zero_target: Literal["refuse", "missing", "keep"] = "refuse"
    supervisor_rating: Literal["refuse", "drop", "keep"] = "refuse"


# ------------------------------------------------------------------------------------------- policy


class Policy(_Model):
    policy: str
    version: str
    currency: str = "CNY"
    language: Literal["zh-CN", "en"] = Field("zh-CN", description="language of statements, reports, workbook "
                                                                   "headers and messages (--lang overrides)")
    cycle: Literal["annual", "half-year"] = "annual"
    budget: NonNegative | None = Field(None, description="total employer cost budget for the cycle")
    grades: list[Grade] = Field(min_length=1)
    allowances: dict[str, NonNegative] = {}
    scorecard: Scorecard
    scorecards: list[Population] = Field(
        [], description="scorecards by population: every employee must match exactly one (empty: one for all)")
    ratings: Ratings
    bonus: Bonus
    commission: Commission
    salary_review: SalaryReview
    promotion: list[PromotionRule] = []
    demotion: list[DemotionRule] = []
    new_hire_protection: NewHireProtection | None = None
    benefits: Benefits
    tax: Tax = Tax()
    feedback: Feedback = Feedback()
    publication: Publication = Publication()
    appeals: Appeals = Appeals()
    compliance: SoundPay = SoundPay()
    leavers: dict[Literal["resignation", "retirement", "dismissal", "transfer", "death"], LeaverRule] = {}
    wage_bill: WageBill | None = None
    awards: list[Award] = []
    inputs: Inputs = Inputs()

    @model_validator(mode="after")
    def _cross_references(self) -> Policy:
        problems = []
        grade_ids = [g.id for g in self.grades]
        d = self.bonus.deferral
        for key, used in (("bonus.deferral.grades", d.grades or []), ("bonus.deferral.share_by_grade",
                                                                      list(d.share_by_grade)),
                          ("compliance.senior_grades", self.compliance.senior_grades)):
            for g in used:
                if g not in grade_ids:
                    problems.append(M_("{key}: unknown grade '{g}', expected one of {grade_ids}", key=key, g=g,
                                       grade_ids=grade_ids))
        if self.wage_bill is not None:
            if self.bonus.pool is not None:
                problems.append(M_("wage_bill and bonus.pool: give one of them (the wage bill sets the bonus pools)"))
            metric_ids = [i.id for i in self.scorecard.indicators if i.source == "metrics"]
            for i, u in enumerate(self.wage_bill.scorecard):
                if u.indicator not in metric_ids:
                    problems.append(M_("wage_bill.scorecard[{i}].indicator: '{indicator}' is not an indicator "
                                       "sourced from metrics ({values})", i=i,
                                       indicator=u.indicator,
                                       values=', '.join(metric_ids)))
        if len(set(grade_ids)) != len(grade_ids):
            problems.append(M_("grades: duplicate grade ids {grade_ids}", grade_ids=grade_ids))
        labels = self.ratings.labels
        for rating in self.salary_review.merit_matrix:
            if rating not in labels:
                problems.append(M_("salary_review.merit_matrix: unknown rating '{rating}', expected one of {labels}",
                                   rating=rating, labels=labels))
        for rating in labels:
            if rating not in self.salary_review.merit_matrix:
                problems.append(M_("salary_review.merit_matrix: rating '{rating}' has no row", rating=rating))
        if self.salary_review.method == "steps":
            for rating in self.salary_review.step_moves:
                if rating not in labels:
                    problems.append(M_("salary_review.step_moves: unknown rating '{rating}', expected one of "
                                       "{labels}", rating=rating,
                                       labels=labels))
            if not any(g.steps for g in self.grades):
                problems.append(M_("salary_review.method is steps but no grade has steps"))
        if self.bonus.by_rating:
            for rating in self.bonus.by_rating:
                if rating not in labels:
                    problems.append(M_("bonus.by_rating: unknown rating '{rating}', expected one of {labels}",
                                       rating=rating, labels=labels))
        indicator_ids = {ind.id for ind in self.scorecard.indicators}
        for kind, rules in (("promotion", self.promotion), ("demotion", self.demotion)):
            for i, rule in enumerate(rules):
                for key in ("from_", "to"):
                    g = getattr(rule, key)
                    if g not in grade_ids:
                        problems.append(M_("{kind}[{i}].{key}: unknown grade '{g}', expected one of {grade_ids}",
                                           kind=kind, i=i,
                                           key=key.rstrip('_'), g=g,
                                           grade_ids=grade_ids))
                ratings = getattr(rule, "last_ratings_at_least", None) or getattr(rule, "last_ratings_at_most", [])
                for r in ratings:
                    if r not in labels:
                        problems.append(M_("{kind}[{i}]: unknown rating '{r}', expected one of {labels}", kind=kind,
                                           i=i, r=r, labels=labels))
                for ind in getattr(rule, "min_indicator_scores", {}) or {}:
                    if ind not in indicator_ids:
                        problems.append(M_("{kind}[{i}].min_indicator_scores: unknown indicator '{ind}'", kind=kind,
                                           i=i, ind=ind))
        pop_ids = [p.id for p in self.scorecards]
        if len(set(pop_ids)) != len(pop_ids):
            problems.append(M_("scorecards: duplicate ids {pop_ids}", pop_ids=pop_ids))
        sc = self.scorecard
        for i, pop in enumerate(self.scorecards):
            cats = pop.categories if pop.categories is not None else sc.categories
            for name in cats:
                if name not in sc.categories:
                    problems.append(M_("scorecards[{i}].categories: unknown category '{name}', expected one of "
                                       "{values}", i=i, name=name,
                                       values=', '.join(sc.categories)))
            if abs(sum(cats.values()) - 1.0) > WEIGHT_TOLERANCE:
                problems.append(M_("scorecards[{i}].categories: weights sum to {cats:g}, expected 1", i=i,
                                   cats=sum(cats.values())))
            weights = pop.weights if pop.weights is not None else {ind.id: ind.weight for ind in sc.indicators}
            for ind_id in weights:
                if ind_id not in indicator_ids:
                    problems.append(M_("scorecards[{i}].weights: unknown indicator '{ind_id}'", i=i, ind_id=ind_id))
            for name, w in cats.items():
                if w <= 0:
                    continue
                total = sum(v for k, v in weights.items() if k in indicator_ids and sc.indicator(k).category == name)
                if abs(total - 1.0) > WEIGHT_TOLERANCE:
                    problems.append(M_("scorecards[{i}] ({id}): weights in category '{name}' sum to {total:g}, "
                                       "expected 1", i=i, id=pop.id,
                                       name=name, total=total))

        product_ids = [p.id for p in self.commission.products]
        metric_ids = [i.id for i in self.scorecard.indicators if i.source == "metrics"]
        award_ids = [a.id for a in self.awards]
        if len(set(award_ids)) != len(award_ids):
            problems.append(M_("awards: duplicate award ids {award_ids}", award_ids=award_ids))
        for i, award in enumerate(self.awards):
            allowed = metric_ids if award.measure == "indicator_growth" else sorted(indicator_ids)
            if award.indicator is not None and award.indicator not in allowed:
                problems.append(M_("awards[{i}].indicator: unknown indicator '{indicator}', expected one of "
                                   "{allowed}", i=i, indicator=award.indicator,
                                   allowed=allowed))
            if award.product is not None and award.product not in product_ids:
                problems.append(M_("awards[{i}].product: unknown product '{product}', expected one of {product_ids}",
                                   i=i, product=award.product,
                                   product_ids=product_ids))
        for key in self.feedback.suggestions:
            if key not in indicator_ids:
                problems.append(M_("feedback.suggestions: unknown indicator '{key}'", key=key))
        if problems:
            raise ValueError(_joined(problems))
        return self

    # -- look-ups -------------------------------------------------------------------------------

    def grade(self, grade_id: str) -> Grade:
        for g in self.grades:
            if g.id == grade_id:
                return g
        raise KeyError(grade_id)

    @property
    def grade_ids(self) -> list[str]:
        """Grade ids, lowest first (the promotion ladder)."""
        return [g.id for g in self.grades]

    @property
    def indicator_ids(self) -> list[str]:
        return [ind.id for ind in self.scorecard.indicators]

    @property
    def product_ids(self) -> list[str]:
        return [p.id for p in self.commission.products]

    @property
    def metric_indicator_ids(self) -> list[str]:
        """Indicators the metrics table may hold: the scorecard's metrics indicators, then the indicators whose
        targets are commission quotas (``commission.products[].quota.indicator``)."""
        ids = [i.id for i in self.scorecard.indicators if i.source == "metrics"]
        for p in self.commission.products:
            if p.quota is not None and p.quota.indicator not in ids:
                ids.append(p.quota.indicator)
        return ids

    def indicator_curve(self, indicator: Indicator) -> Curve:
        """The curve that scores ``indicator``: its own, else (ratings) the scorecard's rating curve or scale."""
        if indicator.curve is not None:
            return indicator.curve
        sc = self.scorecard
        if sc.rating_curve is not None:
            return sc.rating_curve
        return ScaleCurve(type="scale", min=sc.rating_scale.min, max=sc.rating_scale.max)

    @property
    def rating_items(self) -> list[str]:
        """Rating items the 360 questionnaire must cover (items of ratings-sourced indicators)."""
        return [ind.rating_item for ind in self.scorecard.indicators if ind.source == "ratings"]

    # -- serialisation, hashing, changes ------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain data as in the YAML file (aliases such as ``from`` and ``self``; unset options dropped)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_yaml(self, path: str | Path | None = None) -> str:
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True, width=120)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def fingerprint(self) -> str:
        """sha256 of the canonical YAML: two policies with equal content have equal fingerprints.

        Writing the YAML takes about 0.1-0.2 s (PyYAML's emitter in Python), so the fingerprints worked out in this
        process are remembered by the policy's plain data (:meth:`to_dict`, looked up by its ``repr``, which tells
        apart every value the YAML does): asking again for a policy of the same content costs under a
        millisecond, and the value is the same."""
        data = self.to_dict()
        key = repr(data)
        found = _FINGERPRINTS.get(key)
        if found is None:
            found = hashlib.sha256(yaml.safe_dump(data, sort_keys=True).encode()).hexdigest()
            while len(_FINGERPRINTS) >= _FINGERPRINTS_KEPT:  # the oldest let go (a policy's data: ~20 KB)
                _FINGERPRINTS.pop(next(iter(_FINGERPRINTS), None), None)
            _FINGERPRINTS[key] = found
        return found

    def diff(self, other: Policy) -> list[PolicyChange]:
        """What changed from ``self`` to ``other``, one entry per key path.

        Lists of objects with an ``id`` are matched by id (``scorecard.indicators[deposits_adb].weight``),
        other lists by position.
        """
        changes: list[PolicyChange] = []
        _diff(self.to_dict(), other.to_dict(), "", changes)
        return changes

    def updated(self, changes: dict[str, Any]) -> Policy:
        """A new, validated Policy with values set at key paths, e.g.
        ``{"commission.products[insurance].tiers[0].upto": 2e6, "bonus.curve[1][1]": 0.6}``.

        Paths use the YAML keys; ``[x]`` selects a list item by position or, for lists of objects with an
        id, by id. Raises PolicyError when a path does not exist or the result breaks a rule.
        """
        data = copy.deepcopy(self.to_dict())
        for path, value in changes.items():
            parent, last = _resolve(data, path)
            parent[last] = value
        return policy_from_dict(data, source=UPDATED)

    def get(self, path: str) -> Any:
        """The value at a key path (same syntax as :meth:`updated`)."""
        data = self.to_dict()
        parent, last = _resolve(data, path)
        return parent[last]


#: Policy.fingerprint's memory: the repr of a policy's plain data -> its fingerprint, at most _FINGERPRINTS_KEPT
_FINGERPRINTS: dict[str, str] = {}
_FINGERPRINTS_KEPT = 64


class PolicyChange(BaseModel):
    path: str
    before: Any
    after: Any

    def __str__(self) -> str:
        if self.before is None:
            return f"{self.path}: added {self.after!r}"
        if self.after is None:
            return f"{self.path}: removed (was {self.before!r})"
        return f"{self.path}: {self.before!r} -> {self.after!r}"


def _diff(a: Any, b: Any, path: str, out: list[PolicyChange]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in b:
                out.append(PolicyChange(path=sub, before=a[key], after=None))
            elif key not in a:
                out.append(PolicyChange(path=sub, before=None, after=b[key]))
            else:
                _diff(a[key], b[key], sub, out)
        return
    if isinstance(a, list) and isinstance(b, list):
        if _keyed(a) and _keyed(b):
            amap = {x["id"]: x for x in a}
            bmap = {x["id"]: x for x in b}
            for key in list(amap) + [k for k in bmap if k not in amap]:
                sub = f"{path}[{key}]"
                if key not in bmap:
                    out.append(PolicyChange(path=sub, before=amap[key], after=None))
                elif key not in amap:
                    out.append(PolicyChange(path=sub, before=None, after=bmap[key]))
                else:
                    _diff(amap[key], bmap[key], sub, out)
            return
        for i in range(max(len(a), len(b))):
            sub = f"{path}[{i}]"
            if i >= len(b):
                out.append(PolicyChange(path=sub, before=a[i], after=None))
            elif i >= len(a):
                out.append(PolicyChange(path=sub, before=None, after=b[i]))
            else:
                _diff(a[i], b[i], sub, out)
        return
    if a != b:
        out.append(PolicyChange(path=path, before=a, after=b))


def _keyed(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(x, dict) and "id" in x for x in items)


#: the name of a policy made from another by key-path changes (what-ifs, the explorer, calibration)
UPDATED = N_("<updated policy>")
_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[([^\]]+)\]")


def _resolve(data: Any, path: str) -> tuple[Any, Any]:
    """(container, key) for a key path into plain data; raises PolicyError if the path does not exist."""
    tokens = []
    for name, index in _PATH_TOKEN.findall(path):
        tokens.append(("key", name) if name else ("index", index))
    if not tokens:
        raise PolicyError(UPDATED, [M_("empty key path {path}", path=repr(path))])
    node = data
    for n, (kind, tok) in enumerate(tokens):
        last = n == len(tokens) - 1
        if kind == "key":
            if not isinstance(node, dict):
                raise PolicyError(UPDATED, [M_("key path {path}: '{key}' applied to a value that has no keys",
                                               path=repr(path), key=tok)])
            if tok not in node and not last:
                raise PolicyError(UPDATED, [M_("key path {path}: no key '{key}'; expected one of {keys}",
                                               path=repr(path), key=tok, keys=", ".join(map(str, node)))])
            key: Any = tok
        else:
            if not isinstance(node, list):
                raise PolicyError(UPDATED, [M_("key path {path}: [{index}] applied to a non-list", path=repr(path),
                                               index=tok)])
            if tok.lstrip("-").isdigit():
                key = int(tok)
                if not -len(node) <= key < len(node):
                    raise PolicyError(UPDATED, [M_("key path {path}: index {index} out of range (the list has {n} "
                                                   "items)", path=repr(path), index=key, n=len(node))])
            else:
                ids = [x.get("id") if isinstance(x, dict) else None for x in node]
                if tok not in ids:
                    raise PolicyError(UPDATED, [M_("key path {path}: no item with id '{id}'; expected one of {ids}",
                                                   path=repr(path), id=tok, ids=", ".join(map(str, ids)))])
                key = ids.index(tok)
        if last:
            return node, key
        node = node[key]
    raise AssertionError("unreachable")


# ------------------------------------------------------------------------------------------ loading


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in {"ratio", "inverse", "scale", "banded", "piecewise"}:
            continue  # the discriminated-union tag pydantic adds to the location
        else:
            out += ("." if out else "") + str(part)
    return out or M_("(top level)")


def _joined(problems: list[Any]) -> Message:
    """Several problems as one message: 'first; second; ...' (each translated when shown)."""
    out = problems[-1]
    for p in reversed(problems[:-1]):
        out = M_("{first}; {rest}", first=p, rest=out)
    return out if isinstance(out, Message) else M_("{first}", first=out)


def _format_errors(err: ValidationError) -> list[str]:
    messages: list[str] = []
    for e in err.errors():
        loc = _format_loc(tuple(e["loc"]))
        msg = pydantic_message(e)
        if "input" in e and e["type"] not in ("value_error", "assertion_error", "missing", "extra_forbidden") \
                and not isinstance(e["input"], (dict, list)):
            msg = M_("{message} (found {value})", message=msg, value=repr(e["input"]))
        messages.append(M_("{path}: {message}", path=loc, message=msg))
    return messages


def policy_from_dict(data: Any, source: str = "<policy>") -> Policy:
    """Validate plain data (as read from YAML) into a Policy, or raise PolicyError listing every problem."""
    if not isinstance(data, dict):
        raise PolicyError(source, [M_("expected a mapping of policy keys at the top level, found {type}",
                                      type=type(data).__name__)])
    try:
        return Policy.model_validate(data)
    except ValidationError as err:
        raise PolicyError(source, _format_errors(err)) from None


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy YAML file.

    Raises :class:`compkit.PolicyError` naming the file, each key path and the rule it breaks.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(str(path), [M_("file not found")]) from None
    except (OSError, UnicodeDecodeError) as err:
        raise PolicyError(str(path), [M_("cannot be read: {error}", error=str(err))]) from None
    data = parse_yaml(text, str(path))
    return policy_from_dict(data, source=str(path))


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that notes every key repeated within one mapping (YAML itself keeps the last one
    silently: ``rate:`` twice would change a rate without a word)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[str] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # '<<' merges are allowed to override
            try:
                key = self.construct_object(key_node, deep=True)
                hash(key)
            except Exception:  # noqa: BLE001 - an unhashable key is reported by the base class
                continue
            line = key_node.start_mark.line + 1
            if key in seen:
                self.duplicates.append(M_("line {line}: key '{key}' appears twice in the same mapping (first at line "
                                          "{first}); expected each key once (YAML would keep only the last)",
                                          line=line, key=key, first=seen[key]))
            else:
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, source: str) -> Any:
    """The data of a YAML text, read safely (no Python objects) and refusing repeated keys.

    Raises :class:`compkit.PolicyError` naming the line of each problem."""
    loader = _StrictLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        raise PolicyError(source, [M_("line {line}, column {column}: not valid YAML ({problem})", line=mark.line + 1,
                                      column=mark.column + 1, problem=problem) if mark is not None else
                                   M_("not valid YAML ({problem})", problem=problem)]) from None
    finally:
        loader.dispose()
    if loader.duplicates:
        raise PolicyError(source, loader.duplicates)
    return data
