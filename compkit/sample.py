"""A seeded synthetic Chinese bank of customer managers (客户经理) for one year, following the data contract.

``make_sample(managers, year, seed)`` returns a :class:`Sample` (tables + planted truth); ``Sample.write(dir)``
writes one CSV per table, byte-identical for the same seed. Everything is drawn from one
``numpy.random.default_rng(seed)`` by one function per table, called in a fixed order (employees, metrics,
sales, credits, ratings, surveys, complaints, history, appeals), and generated column-wise (no loop per person).

The bank: four 分行 (北京, 上海, 广州, 成都) of five 支行 each; customer managers in four business lines (对公
corporate, 零售 retail, 理财/私行 wealth, 小微 small business) on grades with pay steps (岗位工资 x 薪档). Deposits
by type (活期, 定期, 协定) as monthly average daily balances with last year's average; fee income (中间业务收入)
and wealth holdings (理财保有量) by month; funds against a quota (funds_sales targets); insurance by payment term
(趸交, 期交3/5/10); loans with loan ids, some turning non-performing; shared deals in a ``credits`` table.

Planted effects, for the analyses to find (sizes in ``Sample.truth["effects"]``):
  1. lenient supervisors: every supervisor in 上海分行 rates +0.7 points (1-5 scale) above the truth;
     supervisor S0003 (北京分行) is strict (-0.6); the others ~ N(0, 0.15)
  2. an unexplained pay gap: in 朝阳支行, women's base salary is about 6% lower (one pay step) than men's at equal
     grade, tenure and ability
  3. rater bias: in 北京分行, supervisors rate women 0.35 points lower than their true level
  4. a tough market: in 通州支行, targets are 15% too high for the market, so attainment is low there
  5. joiners (about 4%) and leavers (about 3%, with exit reasons) during the year; reversals of sales (insurance
     cancelled in the cooling-off period, some funds), causing clawback lines; loans turning non-performing
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from compkit.policy import Policy, load_policy

DEFAULT_POLICY = Path(__file__).resolve().parent.parent / "data" / "policies" / "2025.yaml"

# 分行 (regions) -> 支行 (branches)
REGIONS = {
    "北京分行": ["朝阳支行", "海淀支行", "西城支行", "东城支行", "通州支行"],
    "上海分行": ["浦东支行", "陆家嘴支行", "张江支行", "徐汇支行", "静安支行"],
    "广州分行": ["天河支行", "越秀支行", "海珠支行", "番禺支行", "白云支行"],
    "成都分行": ["锦江支行", "青羊支行", "武侯支行", "高新支行", "成华支行"],
}
LENIENT_REGION = "上海分行"
STRICT_SUPERVISOR = "S0003"
GAP_BRANCH = "朝阳支行"
BIAS_REGION = "北京分行"
TOUGH_BRANCH = "通州支行"

#: business lines (employees column ``line``) and their shares; wealth managers on SCM and above are 私行
LINES = ("对公", "零售", "理财", "小微")
LINE_SHARES = (0.28, 0.36, 0.14, 0.22)
PRIVATE_BANKING = "私行"

SURNAMES = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程"))
GIVEN_F = np.array(list("芳娜敏静丽艳娟霞燕玲婷雪琳颖慧洁晶欣怡璐萍倩媛蕾"))
GIVEN_M = np.array(list("伟强磊军洋勇杰涛明超斌辉鹏浩宇鑫峰亮刚俊凯健帅文"))
GIVEN_ANY = np.array(list("晨思子佳雨一嘉天梓若诗云海志建晓"))

# monthly target per manager of grade CM2 (scaled by grade) by line; npl_ratio in percent (lower is better);
# a line without an entry has no metrics rows for the indicator (wealth managers book no loans)
METRIC_TARGETS = {
    "deposits_adb": {"对公": 60_000_000.0, "零售": 25_000_000.0, "理财": 30_000_000.0, "小微": 15_000_000.0},
    "loans_balance": {"对公": 50_000_000.0, "零售": 5_000_000.0, "小微": 20_000_000.0},
    "fee_income": {"对公": 50_000.0, "零售": 25_000.0, "理财": 30_000.0, "小微": 10_000.0},
    "ftp_profit": {"对公": 150_000.0, "零售": 50_000.0, "理财": 60_000.0, "小微": 60_000.0},
    "new_customers": {"对公": 2.0, "零售": 8.0, "理财": 3.0, "小微": 4.0},
    "npl_ratio": {"对公": 1.2, "零售": 0.8, "小微": 2.5},
    "referrals": {"对公": 1.0, "零售": 3.0, "理财": 2.0, "小微": 2.0},
    "funds_sales": {"零售": 400_000.0, "理财": 500_000.0},
}
SUMMED = {"fee_income", "ftp_profit", "new_customers", "referrals", "funds_sales"}
COUNTS = {"new_customers", "referrals"}
# deposits: share of each type in a line's average daily balance
DEPOSIT_MIX = {"对公": {"活期": 0.35, "协定": 0.30, "定期": 0.35}, "零售": {"活期": 0.30, "定期": 0.70},
               "理财": {"活期": 0.25, "定期": 0.75}, "小微": {"活期": 0.55, "定期": 0.45}}
# wealth holdings (理财保有量), average balance of a CM2 by line
HOLDINGS = {"零售": 30_000_000.0, "理财": 50_000_000.0}
# single deals: per line, deals per month of a CM2 and the mean deal size (CNY); loans of 小微 are sme_loans
DEALS = {
    "funds": {"零售": (2.0, 200_000.0), "理财": (2.5, 200_000.0), "对公": (0.1, 300_000.0)},
    "insurance": {"零售": (1.2, None), "理财": (1.2, None), "小微": (0.2, None), "对公": (0.1, None)},
    "loans": {"对公": (0.6, 6_000_000.0), "零售": (0.4, 500_000.0)},
    "sme_loans": {"小微": (2.0, 800_000.0)},
}
# insurance payment terms (缴费期): share of deals and mean (first-year or single) premium
PAYMENT_TERMS = {"趸交": (0.35, 300_000.0), "期交3": (0.20, 100_000.0), "期交5": (0.25, 80_000.0),
                 "期交10": (0.20, 50_000.0)}
# probability that a loan turns non-performing within about a year, by product (x exp(-0.5 ability))
NPL_RATE = {"loans": 0.015, "sme_loans": 0.05}
REVERSAL_RATE = {"insurance": 0.04, "funds": 0.01}
SHARED_DEAL_RATE = 0.04
# generic products and indicators of other policies
GENERIC_DEAL = (1.0, 300_000.0)
GRADE_SCALE = {0: 0.75, 1: 1.0, 2: 1.35, 3: 1.8}
# 开门红: strong January-March, quarter ends and December
SEASON = np.array([1.25, 1.15, 1.2, 0.95, 0.95, 1.05, 0.9, 0.9, 1.0, 0.9, 0.95, 1.2])
SEASON = SEASON / SEASON.mean()
# customers rate a manager of true level 3.5 about 4.4 on average (the scale's top is often chosen)
SURVEY_LIFT = 1.0
EXIT_REASONS = np.array(["resignation", "transfer", "dismissal"])


@dataclass
class Sample:
    """The tables of the data contract and the planted truth."""

    tables: dict[str, pd.DataFrame]
    truth: dict[str, pd.DataFrame] = field(default_factory=dict)

    def write(self, directory: str | Path) -> list[Path]:
        """Write one CSV per table into ``directory`` all or nothing (a temporary folder next to it, swapped into
        place whole: compkit.atomic.staged_folder). Same seed, same bytes. ``directory`` must be new, empty or a
        folder compkit wrote (it carries the marker ``.compkit-output``): a sample never overwrites real data.
        Files other than the tables (a README) are kept."""
        from compkit.atomic import check_output, staged_folder, write_marker

        directory = check_output(directory, "sample")
        with staged_folder(directory, keep_others=True, what="sample") as tmp:
            for name, df in self.tables.items():
                _to_csv(df, tmp / f"{name}.csv")
            write_marker(tmp, "sample", manifest=False)
        return [directory / f"{name}.csv" for name in self.tables]


def _to_csv(df: pd.DataFrame, path: Path) -> None:
    """Dates as YYYY-MM-DD, booleans as true/false, floats with two decimals, missing as an empty cell."""
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[c] = s.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(s):
            out[c] = np.where(s, "true", "false")
    out.to_csv(path, index=False, lineterminator="\n", encoding="utf-8", float_format="%.2f", na_rep="")


def _months(year: int) -> list[str]:
    return [f"{year}-{m:02d}" for m in range(1, 13)]


@dataclass
class _People:
    """Everything drawn about the people that the later tables depend on (one row per person)."""

    n: int
    year: int
    start: pd.Timestamp
    end: pd.Timestamp
    ids: np.ndarray
    branch_list: np.ndarray
    b_idx: np.ndarray
    region: np.ndarray
    grade: np.ndarray
    grade_idx: np.ndarray
    line_idx: np.ndarray  # position in LINES (wealth: 理财 and 私行 alike)
    gender: np.ndarray
    ability: np.ndarray
    hire: pd.DatetimeIndex
    exit_date: pd.Series
    joiner: np.ndarray
    leaver: np.ndarray
    supervisor: np.ndarray
    order: np.ndarray
    counts: np.ndarray
    months: list[str]
    active: np.ndarray  # n x 12: employed in the month
    rows_e: np.ndarray  # person of each employed person-month
    rows_m: np.ndarray  # month (0-11) of each employed person-month
    perf: np.ndarray | None = None  # drawn with the metrics
    true_level: np.ndarray | None = None  # drawn with the ratings

    @property
    def gscale(self) -> np.ndarray:
        """Each person's volume scale by grade (CM2 = 1)."""
        return np.array([GRADE_SCALE[k] for k in range(4)])[np.minimum(self.grade_idx, 3)]

    def by_line(self, values: dict[str, object], default: object = np.nan) -> np.ndarray:
        """A per-person array of ``values[line]`` (``default`` for lines not listed)."""
        table = np.array([values.get(line, default) for line in LINES], dtype=object)
        return table[self.line_idx]


def make_sample(managers: int = 1000, year: int = 2025, seed: int = 0, policy: Policy | None = None) -> Sample:
    """A reproducible bank of ``managers`` customer managers for ``year`` (see the module docstring).

    One ``numpy.random.default_rng(seed)`` feeds the table functions in a fixed order (employees, metrics,
    sales, credits, ratings, surveys, complaints, history, appeals); each draws only from it, so the order of
    the calls is the order of the draws and the same seed gives the same bytes. Products and metrics
    indicators follow ``policy`` (default: the bundled 2025 policy): the ones this module knows get the bank's
    volumes by business line, others generic deals and targets."""
    policy = policy if policy is not None else load_policy(DEFAULT_POLICY)
    rng = np.random.default_rng(seed)
    employees, people = _employees(rng, managers, year, policy)
    metrics = _metrics(rng, people, policy)
    sales = _sales(rng, people, policy, metrics)
    credits = _credits(rng, people, sales)
    ratings, rater_truth = _ratings(rng, people, policy)
    surveys = _surveys(rng, people)
    complaints = _complaints(rng, people)
    history = _history(rng, people, policy)
    appeals = _appeals(rng, year, metrics, ratings)
    truth = {"true_levels": rater_truth["true_levels"], "supervisor_leniency": rater_truth["supervisor_leniency"],
             "effects": _effects()}
    tables = {"employees": employees, "metrics": metrics, "sales": sales, "credits": credits, "ratings": ratings,
              "surveys": surveys, "complaints": complaints, "history": history, "appeals": appeals}
    return Sample(tables, truth)


def _chinese_names(rng: np.random.Generator, female: np.ndarray) -> np.ndarray:
    """Surname + a given name of one or two characters (about 60% two), the last leaning to the gender."""
    n = len(female)
    surname = SURNAMES[rng.integers(0, len(SURNAMES), n)]
    last = np.where(female, GIVEN_F[rng.integers(0, len(GIVEN_F), n)], GIVEN_M[rng.integers(0, len(GIVEN_M), n)])
    pool = np.concatenate([GIVEN_ANY, GIVEN_F, GIVEN_M])
    first = np.where(rng.random(n) < 0.6, pool[rng.integers(0, len(pool), n)], "")
    return np.char.add(np.char.add(surname, first), last)


def _steps_and_base(policy: Policy, grade: np.ndarray, pay: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(step, monthly base): on a grade with pay steps, the step nearest to ``pay`` and its pay; on a grade
    without steps, no step (NaN) and ``pay`` rounded to the yuan within 95%-105% of the band."""
    step = np.full(len(grade), np.nan)
    base = np.round(pay, 0)
    for g in policy.grades:
        m = grade == g.id
        if not m.any():
            continue
        if g.steps:
            table = np.asarray(g.steps, dtype=float)
            k = np.abs(pay[m][:, None] - table[None, :]).argmin(axis=1)
            step[m] = k + 1
            base[m] = table[k]
        else:
            base[m] = np.round(np.clip(pay[m], g.base_monthly.min * 0.95, g.base_monthly.max * 1.05), 0)
    return step, base


def _employees(rng: np.random.Generator, n: int, year: int, policy: Policy) -> tuple[pd.DataFrame, _People]:
    """The employees table and the drawn facts about each person the other tables use."""
    start, end = pd.Timestamp(f"{year}-01-01"), pd.Timestamp(f"{year}-12-31")
    regions = np.array(list(REGIONS))
    branch_list = np.array([b for r in regions for b in REGIONS[r]])
    branch_region = np.repeat(regions, [len(REGIONS[r]) for r in regions])
    b_idx = rng.integers(0, len(branch_list), n)
    branch, region = branch_list[b_idx], branch_region[b_idx]
    grade_idx = rng.choice(4, n, p=[0.35, 0.35, 0.22, 0.08])
    grade_ids = np.array(policy.grade_ids)
    grade = grade_ids[np.minimum(grade_idx, len(grade_ids) - 1)]
    line_idx = rng.choice(len(LINES), n, p=LINE_SHARES)
    line = np.array(LINES)[line_idx]
    line = np.where((line == "理财") & (grade_idx >= 2), PRIVATE_BANKING, line)
    gender = np.where(rng.random(n) < 0.55, "F", "M")
    ability = rng.normal(0.0, 1.0, n)
    tenure_years = np.clip(rng.gamma(2.0, 2.5, n) + grade_idx * 2.0, 0.3, 35)
    hire = start - pd.to_timedelta(np.round(tenure_years * 365.25).astype(int), unit="D")
    joiner = rng.random(n) < 0.04
    hire = pd.DatetimeIndex(np.where(joiner, start + pd.to_timedelta(rng.integers(15, 320, n), unit="D"), hire))
    leaver = (rng.random(n) < 0.03) & ~joiner
    exit_date = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    exit_date[leaver] = (start + pd.to_timedelta(rng.integers(40, 330, n), unit="D"))[leaver]
    age = np.clip(24 + tenure_years + rng.normal(4, 4, n), 22, 59)
    birth = start - pd.to_timedelta(np.round(age * 365.25).astype(int), unit="D")
    reason = EXIT_REASONS[rng.choice(len(EXIT_REASONS), n, p=[0.8, 0.15, 0.05])]
    reason = np.where(age >= 55, "retirement", reason)
    exit_reason = np.where(leaver, reason, None)
    years_in_grade = np.minimum(tenure_years, rng.uniform(0.5, 6.0, n))
    grade_since = pd.DatetimeIndex(np.where(joiner, hire, start - pd.to_timedelta(
        np.round(years_in_grade * 365.25).astype(int), unit="D")))
    fte = np.where(rng.random(n) < 0.04, rng.choice([0.5, 0.8], n), 1.0)
    mids = np.array([policy.grade(g).base_monthly.mid for g in grade])
    pay = mids * (1 + 0.05 * ability + 0.02 * np.minimum(years_in_grade, 5) - 0.05 + rng.normal(0, 0.03, n))
    pay = np.where((branch == GAP_BRANCH) & (gender == "F"), pay * 0.94, pay)
    step, base = _steps_and_base(policy, grade, pay)
    # supervisors: teams of about 10 within a branch
    order = np.lexsort((rng.random(n), b_idx))
    team_no = np.zeros(n, dtype=int)
    counts = np.bincount(b_idx[order], minlength=len(branch_list))
    pos_in_branch = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
    team_no[order] = pos_in_branch // 10
    team_key = b_idx * 1000 + team_no
    team_codes, team_inv = np.unique(team_key, return_inverse=True)
    supervisor = np.char.add("S", np.char.zfill(np.arange(1, len(team_codes) + 1).astype(str), 4))[team_inv]
    ids = np.char.add("E", np.char.zfill(np.arange(1, n + 1).astype(str), 5))
    names = _chinese_names(rng, gender == "F")
    employees = pd.DataFrame({
        "employee_id": ids, "name": names, "branch": branch, "region": region, "line": line, "grade": grade,
        "step": step, "hire_date": hire, "exit_date": exit_date, "exit_reason": exit_reason, "gender": gender,
        "birth_date": birth, "supervisor_id": supervisor, "fte": fte, "base_monthly": base.astype(float),
        "grade_since": grade_since})
    if np.isnan(step).all():  # a policy without pay steps
        employees = employees.drop(columns="step")
    else:
        employees["step"] = employees["step"].astype("Int64")

    # months employed
    months = _months(year)
    m_start = pd.DatetimeIndex([pd.Timestamp(m + "-01") for m in months])
    m_end = m_start + pd.offsets.MonthEnd(0)
    hire_v = hire.to_numpy()[:, None]
    exit_v = exit_date.fillna(pd.Timestamp("2262-01-01")).to_numpy()[:, None]
    active = (hire_v <= m_end.to_numpy()[None, :]) & (exit_v >= m_start.to_numpy()[None, :])  # n x 12
    rows_e, rows_m = np.nonzero(active)
    people = _People(n=n, year=year, start=start, end=end, ids=ids, branch_list=branch_list, b_idx=b_idx,
                     region=region, grade=grade, grade_idx=grade_idx, line_idx=line_idx, gender=gender,
                     ability=ability, hire=hire, exit_date=exit_date, joiner=joiner, leaver=leaver,
                     supervisor=supervisor, order=order, counts=counts, months=months, active=active,
                     rows_e=rows_e, rows_m=rows_m)
    return employees, people


def _metrics(rng: np.random.Generator, p: _People, policy: Policy) -> pd.DataFrame:
    """Monthly actual and target of each metrics indicator of the policy, by business line (a line without a
    target for an indicator has no rows for it); draws each person's performance ``p.perf``.

    actual = target x perf x market x noise (counts: Poisson of that); deposits_adb is left for :func:`_sales`
    to set to the sum of the person's deposits by type, funds_sales to the month's funds deals."""
    n, rows_e, rows_m, b_idx = p.n, p.rows_e, p.rows_m, p.b_idx
    perf = np.exp(0.12 * p.ability + rng.normal(0, 0.05, n))
    p.perf = perf
    market_factor = np.exp(rng.normal(0, 0.05, len(p.branch_list)))
    target_factor = np.where(p.branch_list == TOUGH_BRANCH, 1.15, 1.0)
    gscale = p.gscale
    frames = []
    for ind in policy.metric_indicator_ids:
        level = p.by_line(METRIC_TARGETS[ind]).astype(float) if ind in METRIC_TARGETS else np.full(n, 100.0)
        keep = ~np.isnan(level[rows_e])
        e, m = rows_e[keep], rows_m[keep]
        base_target = level[e]
        season = SEASON[m] if ind in SUMMED or ind == "deposits_adb" else np.ones(len(m))
        noise = rng.normal(0, 0.18 if ind != "npl_ratio" else 0.25, len(m))
        if ind == "npl_ratio":
            target = base_target
            actual = np.round(target / perf[e] * np.exp(noise), 2)
        else:
            target = base_target * gscale[e] * season * target_factor[b_idx[e]]
            actual = base_target * gscale[e] * season * perf[e] * market_factor[b_idx[e]] * np.exp(noise)
            if ind in COUNTS:
                target = np.maximum(np.round(target), 1.0)
                actual = rng.poisson(np.maximum(actual, 0)).astype(float)
            elif ind == "ftp_profit":
                actual = actual + rng.normal(0, 0.1, len(m)) * base_target
            actual, target = np.round(actual, 2), np.round(target, 2)
        frames.append(pd.DataFrame({"employee_id": p.ids[e], "period": np.array(p.months)[m],
                                    "indicator": ind, "actual": actual, "target": target}))
    return pd.concat(frames, ignore_index=True).sort_values(["employee_id", "period", "indicator"],
                                                            kind="stable").reset_index(drop=True)


def _balance_rows(rng: np.random.Generator, p: _People, product: str, level: np.ndarray,
                  mix: dict[str, dict[str, float]] | None) -> pd.DataFrame:
    """Monthly average balances (one row per person-month, or per person-month-type with ``mix``): level x grade
    x perf x a person's own factor x season x noise; ``baseline`` = last year's average (growth ~ N(6%, 10%));
    joiners have no baseline."""
    e_all, m_all = p.rows_e, p.rows_m
    own = np.exp(rng.normal(0, 0.25, p.n))
    growth = np.clip(rng.normal(0.06, 0.10, p.n), -0.3, 0.5)
    keep = ~np.isnan(level[e_all])
    e, m = e_all[keep], m_all[keep]
    month_level = level[e] * p.gscale[e] * p.perf[e] * own[e] * SEASON[m] * np.exp(rng.normal(0, 0.08, len(e)))
    frames = []
    types = sorted({t for d in (mix or {}).values() for t in d}) if mix else [None]
    for t in types:
        share = p.by_line({k: v.get(t, np.nan) for k, v in mix.items()}).astype(float)[e] if mix else np.ones(len(e))
        ok = ~np.isnan(share)
        amount = np.round(month_level[ok] * share[ok], -2)
        last_year = np.round(level[e[ok]] * p.gscale[e[ok]] * p.perf[e[ok]] * own[e[ok]]
                             * (share[ok]) / (1 + growth[e[ok]]), -2)
        frame = pd.DataFrame({"e": e[ok], "m": m[ok], "product": product, "amount": amount,
                              "baseline": np.where(p.joiner[e[ok]], np.nan, last_year)})
        if t is not None:
            frame["deposit_type"] = t
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _sales(rng: np.random.Generator, p: _People, policy: Policy, metrics: pd.DataFrame) -> pd.DataFrame:
    """The sales table: balance rows (deposits by type, holdings), fee income by month, and single deals (funds,
    insurance by payment term, loans with a loan id and an NPL date when it turned non-performing) with customer
    ids; some insurance and funds deals reversed in a later month (deal id ending -R). Sets the metrics rows of
    deposits_adb (the month's deposits) and funds_sales (the month's funds deals) in place."""
    rows_e, rows_m, perf = p.rows_e, p.rows_m, p.perf
    products = policy.product_ids
    gscale = p.gscale
    frames = []
    if "deposits" in products:
        level = p.by_line(METRIC_TARGETS["deposits_adb"]).astype(float)
        frames.append(_balance_rows(rng, p, "deposits", level, DEPOSIT_MIX))
    if "holdings" in products:
        frames.append(_balance_rows(rng, p, "holdings", p.by_line(HOLDINGS).astype(float), None))
    if "fee_income" in products:
        fee = metrics[metrics["indicator"] == "fee_income"]
        pos = {eid: i for i, eid in enumerate(p.ids)}
        e = fee["employee_id"].map(pos).to_numpy()
        frames.append(pd.DataFrame({"e": e, "m": fee["period"].str[5:].astype(int).to_numpy() - 1,
                                    "product": "fee_income", "amount": fee["actual"].to_numpy()}))
    balances = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["e", "m", "product",
                                                                                        "amount"])
    # single deals
    book = np.maximum(10, rng.poisson(40, p.n))  # customers per manager (some buy again: loyalty)
    frames = []
    for pid in products:
        if pid in ("deposits", "holdings", "fee_income"):
            continue
        spec = DEALS.get(pid)
        rate = p.by_line({k: v[0] for k, v in spec.items()}, 0.0).astype(float) if spec else np.full(p.n, 1.0)
        size = p.by_line({k: v[1] or 0.0 for k, v in spec.items()}, 0.0).astype(float) if spec \
            else np.full(p.n, GENERIC_DEAL[1])
        k = rng.poisson(rate[rows_e] * gscale[rows_e] ** 0.5 * perf[rows_e] ** 2)
        e = np.repeat(rows_e, k)
        mm = np.repeat(rows_m, k)
        frame = pd.DataFrame({"e": e, "m": mm, "product": pid})
        if pid == "insurance":
            terms = np.array(list(PAYMENT_TERMS))
            t = rng.choice(len(terms), len(e), p=[v[0] for v in PAYMENT_TERMS.values()])
            mean = np.array([v[1] for v in PAYMENT_TERMS.values()])[t]
            frame["payment_term"] = terms[t]
        else:
            mean = size[e]
        frame["amount"] = np.maximum(np.round(mean * gscale[e] ** 0.5 * np.exp(rng.normal(-0.18, 0.6, len(e))), -3),
                                     1000.0)
        frame["cust"] = rng.integers(0, book[e])
        if pid in NPL_RATE:
            npl = rng.random(len(e)) < NPL_RATE[pid] * np.exp(-0.5 * p.ability[e])
            first_day = np.array([np.datetime64(f"{p.year}-{mo + 1:02d}-01") for mo in range(12)])[mm]
            when = first_day + rng.integers(60, 420, len(e)).astype("timedelta64[D]")
            frame["npl_date"] = pd.DatetimeIndex(np.where(npl, when, np.datetime64("NaT")))
        frames.append(frame)
    deals = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["e", "m", "product"])
    deals["deal"] = np.arange(len(deals))
    # reversals: insurance cancelled in the cooling-off period (犹豫期) and some funds, a month or two later
    rate = deals["product"].map(REVERSAL_RATE).fillna(0.0).to_numpy()
    rev = (rng.random(len(deals)) < rate) & (deals["m"].to_numpy() < 11)
    r = deals[rev].copy()
    r["m"] = np.minimum(11, r["m"].to_numpy() + rng.integers(1, 3, len(r)))
    r = r[p.active[r["e"].to_numpy(dtype=int), r["m"].to_numpy(dtype=int)]]
    r["amount"] = -r["amount"]
    r["rev"] = True
    deals["rev"] = False
    deals = pd.concat([deals, r], ignore_index=True)
    # ids
    num = deals["deal"].to_numpy().astype(np.int64)
    deal_id = np.char.add("D", np.char.zfill(num.astype(str), 7))
    deal_id = np.where(deals["rev"].to_numpy(dtype=bool), np.char.add(deal_id, "-R"), deal_id)
    e = deals["e"].to_numpy(dtype=int)
    out_deals = pd.DataFrame({
        "employee_id": p.ids[e], "period": np.array(p.months)[deals["m"].to_numpy(dtype=int)],
        "product": deals["product"].to_numpy(), "amount": deals["amount"].to_numpy(dtype=float),
        "deal_id": deal_id,
        "customer_id": np.char.add(np.char.add("C", p.ids[e]), np.char.add("-", deals["cust"].to_numpy().astype(
            np.int64).astype(str)))})
    for col in ("payment_term", "npl_date"):
        if col in deals:
            out_deals[col] = deals[col].to_numpy()
    is_loan = deals["product"].isin(list(NPL_RATE)).to_numpy()
    out_deals["loan_id"] = np.where(is_loan, np.char.add("L", np.char.zfill(num.astype(str), 7)), None)
    parts = [out_deals]
    if len(balances):
        e = balances["e"].to_numpy(dtype=int)
        prefix = balances["product"].map({"deposits": "DP", "holdings": "WH", "fee_income": "FI"}).to_numpy(dtype=str)
        out_bal = pd.DataFrame({
            "employee_id": p.ids[e], "period": np.array(p.months)[balances["m"].to_numpy(dtype=int)],
            "product": balances["product"].to_numpy(), "amount": balances["amount"].to_numpy(dtype=float),
            "deal_id": np.char.add(prefix, np.char.zfill(np.arange(len(balances)).astype(str), 8))})
        for col in ("deposit_type", "baseline"):
            if col in balances:
                out_bal[col] = balances[col].to_numpy()
        parts.insert(0, out_bal)
    sales = pd.concat(parts, ignore_index=True)
    order = ["employee_id", "period", "product", "amount", "deal_id", "customer_id", "deposit_type", "baseline",
             "payment_term", "loan_id", "npl_date"]
    sales = sales[[c for c in order if c in sales.columns]]
    sales = sales.sort_values(["employee_id", "period", "deal_id"], kind="stable").reset_index(drop=True)
    _metrics_from_sales(metrics, sales)
    return sales


def _metrics_from_sales(metrics: pd.DataFrame, sales: pd.DataFrame) -> None:
    """deposits_adb = the month's deposits (all types); funds_sales = the month's funds deals (in place)."""
    for ind, product in (("deposits_adb", "deposits"), ("funds_sales", "funds")):
        rows = (metrics["indicator"] == ind).to_numpy()
        if not rows.any() or not (sales["product"] == product).any():
            continue
        s = sales[sales["product"] == product].groupby(["employee_id", "period"])["amount"].sum()
        key = pd.MultiIndex.from_arrays([metrics.loc[rows, "employee_id"], metrics.loc[rows, "period"]])
        metrics.loc[rows, "actual"] = np.round(s.reindex(key).fillna(0.0).to_numpy(), 2)


def _credits(rng: np.random.Generator, p: _People, sales: pd.DataFrame) -> pd.DataFrame:
    """Shared customers (业绩分成): about 4% of the deals (funds, insurance, loans; never a reversed one) are
    split with a colleague of the same branch employed that month, the booker keeping 50%, 60% or 70%."""
    deal = sales["customer_id"].notna().to_numpy() & ~sales["deal_id"].str.endswith("-R").to_numpy()
    reversed_ids = set(sales.loc[sales["deal_id"].str.endswith("-R"), "deal_id"].str[:-2])
    deal &= ~sales["deal_id"].isin(reversed_ids).to_numpy()
    pick = deal & (rng.random(len(sales)) < SHARED_DEAL_RATE)
    s = sales[pick]
    pos = pd.Series(np.arange(p.n), index=p.ids)
    e = pos.reindex(s["employee_id"].to_numpy()).to_numpy()
    b = p.b_idx[e]
    first = np.cumsum(p.counts) - p.counts
    within = pos_in_branch_of(p.order, p.n)[e] - first[b]
    off = rng.integers(1, np.maximum(p.counts[b], 2))
    partner = p.order[first[b] + (within + off) % np.maximum(p.counts[b], 1)]
    month = s["period"].str[5:].astype(int).to_numpy() - 1
    ok = (partner != e) & p.active[partner, month]
    keep_share = np.array([0.5, 0.6, 0.7])[rng.integers(0, 3, len(s))]
    s, partner, keep_share = s[ok], partner[ok], keep_share[ok]
    credits = pd.DataFrame({"deal_id": np.concatenate([s["deal_id"].to_numpy(), s["deal_id"].to_numpy()]),
                            "employee_id": np.concatenate([s["employee_id"].to_numpy(), p.ids[partner]]),
                            "share": np.concatenate([keep_share, 1 - keep_share])})
    return credits.sort_values(["deal_id", "employee_id"], kind="stable").reset_index(drop=True)


def _ratings(rng: np.random.Generator, p: _People, policy: Policy) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """360 ratings (self, supervisor, 3-4 branch peers) with the planted rater effects; draws ``p.true_level``.
    Returns the table and the truth behind it (true levels, each supervisor's leniency)."""
    n, ids, supervisor, region, gender, b_idx = p.n, p.ids, p.supervisor, p.region, p.gender, p.b_idx
    counts, order = p.counts, p.order
    items = policy.rating_items
    true_level = np.clip(3.5 + 0.45 * p.ability[:, None] + rng.normal(0, 0.25, (n, len(items))), 1.2, 4.9)
    p.true_level = true_level
    sup_codes, sup_inv = np.unique(supervisor, return_inverse=True)
    sup_region = pd.Series(region).groupby(sup_inv).first().to_numpy()
    leniency = rng.normal(0, 0.15, len(sup_codes))
    leniency = np.where(sup_region == LENIENT_REGION, 0.7, leniency)
    leniency = np.where(sup_codes == STRICT_SUPERVISOR, -0.6, leniency)
    # peers: 3-4 colleagues in the same branch (5% get only one peer); 2% have no supervisor rating
    n_peers = np.where(rng.random(n) < 0.05, 1, rng.integers(3, 5, n))
    by_branch_pos = order  # people sorted by branch
    first = np.cumsum(counts) - counts
    within = pos_in_branch_of(order, n) - first[b_idx]
    rater_e, ratee_e = [], []
    for j in range(4):
        off = rng.integers(1, np.maximum(counts[b_idx], 2))
        pos = (within + off) % np.maximum(counts[b_idx], 1)
        peer = by_branch_pos[first[b_idx] + pos]
        keep = (j < n_peers) & (peer != np.arange(n))
        ratee_e.append(np.arange(n)[keep])
        rater_e.append(peer[keep])
    ratee_p = np.concatenate(ratee_e)
    rater_p = np.concatenate(rater_e)
    pair = pd.DataFrame({"a": ratee_p, "b": rater_p}).drop_duplicates()
    ratee_p, rater_p = pair["a"].to_numpy(), pair["b"].to_numpy()
    has_sup = rng.random(n) >= 0.02
    sup_rows = np.flatnonzero(has_sup)
    role = np.concatenate([np.full(n, "self"), np.full(len(sup_rows), "supervisor"), np.full(len(ratee_p), "peer")])
    ratee = np.concatenate([np.arange(n), sup_rows, ratee_p])
    rater_id = np.concatenate([ids, supervisor[sup_rows], ids[rater_p]])
    effect = np.concatenate([np.full(n, 0.4), leniency[sup_inv[sup_rows]]
                             - np.where((region[sup_rows] == BIAS_REGION) & (gender[sup_rows] == "F"), 0.35, 0.0),
                             np.zeros(len(ratee_p))])
    n_items = len(items)
    r_ratee = np.repeat(ratee, n_items)
    r_item = np.tile(np.arange(n_items), len(ratee))
    score = true_level[r_ratee, r_item] + np.repeat(effect, n_items) + rng.normal(0, 0.5, len(r_ratee))
    score = np.clip(np.rint(score), 1, 5)
    ratings = pd.DataFrame({"employee_id": ids[r_ratee], "rater_id": np.repeat(rater_id, n_items),
                            "rater_role": np.repeat(role, n_items), "item": np.array(items)[r_item],
                            "score": score, "cycle": str(p.year)})
    ratings = ratings.sort_values(["employee_id", "rater_id", "item"], kind="stable").reset_index(drop=True)
    truth = {
        "true_levels": pd.DataFrame({"employee_id": np.repeat(ids, n_items), "item": np.tile(items, n),
                                     "true_level": true_level.ravel()}),
        "supervisor_leniency": pd.DataFrame({"supervisor_id": sup_codes, "region": sup_region,
                                             "leniency": leniency}),
    }
    return ratings, truth


def _dates_in_employment(rng: np.random.Generator, p: _People, e: np.ndarray) -> np.ndarray:
    """A uniform day of the year within each person's employment, for the people ``e``."""
    lo = np.maximum(p.hire.to_numpy(), np.datetime64(p.start))[e]
    hi = np.minimum(p.exit_date.fillna(p.end).to_numpy(), np.datetime64(p.end))[e]
    span = np.maximum((hi - lo).astype("timedelta64[D]").astype(int), 0)
    return lo + (rng.random(len(e)) * (span + 1)).astype(int).astype("timedelta64[D]")


def _surveys(rng: np.random.Generator, p: _People) -> pd.DataFrame:
    """Customer satisfaction responses (1-5) by dimension, 10-15 per person (2% none, half for joiners and
    leavers): round(true level + SURVEY_LIFT + N(0, 0.6)) within 1-5, so a typical manager's customers average
    about 4.4 (the bank's satisfaction target)."""
    n, ids = p.n, p.ids
    k = np.where(rng.random(n) < 0.02, 0, rng.integers(10, 16, n))
    k = np.where(p.joiner | p.leaver, np.maximum(k // 2, 1), k)
    e = np.repeat(np.arange(n), k)
    date = _dates_in_employment(rng, p, e)
    dims = np.array(["attitude", "competence", "responsiveness", "overall"])
    surveys = pd.DataFrame({"employee_id": ids[e], "date": pd.DatetimeIndex(date),
                            "dimension": dims[rng.integers(0, 4, len(e))],
                            "score": np.clip(np.rint(p.true_level[e].mean(axis=1) + SURVEY_LIFT
                                                     + rng.normal(0, 0.6, len(e))), 1, 5),
                            "channel": np.where(rng.random(len(e)) < 0.3, "phone", "survey")})
    return surveys.sort_values(["employee_id", "date", "dimension"], kind="stable").reset_index(drop=True)


def _complaints(rng: np.random.Generator, p: _People) -> pd.DataFrame:
    """Complaints, more for weaker managers; about 40% upheld; 0.8% of people get 6 more, all upheld."""
    n, ids = p.n, p.ids
    kc = rng.poisson(0.45 * np.exp(-0.4 * p.ability))
    heavy = rng.random(n) < 0.008
    kc = np.where(heavy, kc + 6, kc)
    e = np.repeat(np.arange(n), kc)
    date = _dates_in_employment(rng, p, e)
    return pd.DataFrame({
        "complaint_id": [f"K{i + 1:06d}" for i in range(len(e))], "employee_id": ids[e],
        "date": pd.DatetimeIndex(date),
        "category": np.array(["service", "product", "fees", "waiting time"])[rng.integers(0, 4, len(e))],
        "upheld": np.where(heavy[e], True, rng.random(len(e)) < 0.4),
        "resolved_days": rng.integers(1, 21, len(e)).astype(float)})


def _history(rng: np.random.Generator, p: _People, policy: Policy) -> pd.DataFrame:
    """Ratings of the three years before, from ability plus noise, at fixed shares per label."""
    n, ids, year = p.n, p.ids, p.year
    labels = np.array(policy.ratings.labels)
    frames = []
    for back in (1, 2, 3):
        was = p.hire.to_numpy() <= np.datetime64(f"{year - back}-06-30")
        latent = p.ability + rng.normal(0, 0.6, n)
        cuts = np.quantile(latent, [0.85, 0.55, 0.15, 0.05])
        idx = (latent < cuts[0]).astype(int) + (latent < cuts[1]) + (latent < cuts[2]) + (latent < cuts[3])
        frames.append(pd.DataFrame({"employee_id": ids[was], "cycle": str(year - back),
                                    "rating": labels[np.minimum(idx, len(labels) - 1)][was], "grade": p.grade[was]}))
    return pd.concat(frames, ignore_index=True).sort_values(["employee_id", "cycle"]).reset_index(drop=True)


def _effects() -> pd.DataFrame:
    return pd.DataFrame([
        ("lenient supervisors", f"region {LENIENT_REGION}", "+0.7 points on the 1-5 scale"),
        ("strict supervisor", STRICT_SUPERVISOR, "-0.6 points"),
        ("unexplained pay gap", f"branch {GAP_BRANCH}", "women's base salary 6% lower"),
        ("rater bias", f"region {BIAS_REGION}", "supervisors rate women 0.35 points lower"),
        ("tough market", f"branch {TOUGH_BRANCH}", "targets 15% too high"),
    ], columns=["effect", "where", "size"])


def pos_in_branch_of(order: np.ndarray, n: int) -> np.ndarray:
    """Position of each person in the branch-sorted order."""
    pos = np.empty(n, dtype=int)
    pos[order] = np.arange(n)
    return pos


def _appeals(rng: np.random.Generator, year: int, metrics: pd.DataFrame, ratings: pd.DataFrame) -> pd.DataFrame:
    fee = metrics[(metrics["indicator"] == "fee_income") & (metrics["period"] == f"{year}-03")]
    # supervisor ratings of 4 or less, so that the claimed score (one higher) is a change
    sup = ratings[(ratings["rater_role"] == "supervisor") & (ratings["item"] == "risk_management")
                  & (ratings["score"] <= 4)]
    f = fee.iloc[rng.choice(len(fee), 4, replace=False)]
    s = sup.iloc[rng.choice(len(sup), 4, replace=False)]
    rows = []
    statuses = ["upheld", "rejected", "upheld", "open"]
    for i, (rec, status) in enumerate(zip(f.itertuples(), statuses)):
        claimed = round(rec.actual * 1.25, 2)
        rows.append((f"AP{2 * i + 1:03d}", rec.employee_id, f"{year + 1}-01-{10 + i:02d}", "metrics",
                     f"{rec.employee_id}|{rec.period}|fee_income", "actual", f"{claimed:.2f}", status,
                     f"{claimed:.2f}" if status == "upheld" else "",
                     f"{year + 1}-01-{20 + i:02d}" if status != "open" else "",
                     "fee income of a shared customer booked to a colleague" if status == "upheld" else
                     ("booking confirmed as correct" if status == "rejected" else "")))
    for i, (rec, status) in enumerate(zip(s.itertuples(), ["upheld", "rejected", "rejected", "open"])):
        claimed = min(5.0, rec.score + 1)
        rows.append((f"AP{2 * i + 2:03d}", rec.employee_id, f"{year + 1}-01-{11 + i:02d}", "ratings",
                     f"{rec.employee_id}|{rec.rater_id}|risk_management|{year}", "score", f"{claimed:g}", status,
                     f"{claimed:g}" if status == "upheld" else "",
                     f"{year + 1}-01-{25 + i:02d}" if status != "open" else "",
                     "rating not supported by the risk review" if status == "upheld" else
                     ("rating consistent with the file" if status == "rejected" else "")))
    out = pd.DataFrame(rows, columns=["appeal_id", "employee_id", "filed_on", "table", "key", "column",
                                      "claimed_value", "status", "decided_value", "decided_on", "reason"])
    return out.sort_values("appeal_id").reset_index(drop=True)
