"""A seeded synthetic population of bank customer managers (客户经理) for one year, following the data contract.

``make_sample(managers, year, seed)`` returns a :class:`Sample` (tables + planted truth); ``Sample.write(dir)``
writes one CSV per table, byte-identical for the same seed. Everything is drawn from one
``numpy.random.default_rng(seed)`` and generated column-wise (no loop per person).

Planted effects, for the analyses to find (sizes in ``Sample.truth["effects"]``):
  1. lenient supervisors: every supervisor in region East rates +0.7 points (1-5 scale) above the truth;
     supervisor S0003 (region North) is strict (-0.6); the others ~ N(0, 0.15)
  2. an unexplained pay gap: in branch Jing'an, women's base salary is 6% lower than men's at equal grade,
     tenure and ability
  3. rater bias: in region North, supervisors rate women 0.35 points lower than their true level
  4. a tough market: in branch Baoshan, targets are 15% too high for the market, so attainment is low there
  5. joiners (about 4%) and leavers (about 3%) during the year; reversals of sales, some causing clawbacks
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from compkit.policy import Policy, load_policy

DEFAULT_POLICY = Path(__file__).resolve().parent.parent / "data" / "policies" / "2025.yaml"

REGIONS = {
    "North": ["Jing'an", "Hongkou", "Yangpu", "Baoshan", "Putuo"],
    "East": ["Pudong", "Lujiazui", "Zhangjiang", "Chuansha", "Jinqiao"],
    "South": ["Xuhui", "Minhang", "Fengxian", "Jinshan", "Songjiang"],
    "West": ["Changning", "Jiading", "Qingpu", "Hongqiao", "Anting"],
}
LENIENT_REGION = "East"
STRICT_SUPERVISOR = "S0003"
GAP_BRANCH = "Jing'an"
BIAS_REGION = "North"
TOUGH_BRANCH = "Baoshan"

SURNAMES = np.array(["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun",
                     "Ma", "Zhu", "Hu", "Guo", "He", "Lin", "Gao", "Luo"])
GIVEN = np.array(["Wei", "Fang", "Na", "Min", "Jing", "Li", "Qiang", "Lei", "Jun", "Yang", "Yan", "Jie", "Tao",
                  "Ming", "Chao", "Xiu", "Xia", "Ping", "Gang", "Hui", "Hong", "Ling", "Bo", "Yun", "Dan", "Hao"])

# monthly target per manager of grade CM2 (scaled by grade); npl_ratio in percent (lower is better)
METRIC_TARGETS = {"deposits_adb": 20_000_000.0, "loans_balance": 15_000_000.0, "fee_income": 30_000.0,
                  "ftp_profit": 60_000.0, "new_customers": 4.0, "npl_ratio": 1.5, "referrals": 2.0}
SUMMED = {"fee_income", "ftp_profit", "new_customers", "referrals"}
# yearly sales per manager (CNY), and deals per month on average
PRODUCT_VOLUME = {"funds": 4_000_000.0, "insurance": 1_500_000.0, "wealth": 15_000_000.0, "loans": 12_000_000.0}
DEALS_PER_MONTH = {"funds": 1.5, "insurance": 0.8, "wealth": 1.5, "loans": 0.7}
GRADE_SCALE = {0: 0.75, 1: 1.0, 2: 1.35, 3: 1.8}
SEASON = np.array([1.25, 1.15, 1.2, 0.95, 0.95, 1.0, 0.9, 0.9, 0.95, 0.9, 0.95, 1.2])
SEASON = SEASON / SEASON.mean()


@dataclass
class Sample:
    """The tables of the data contract and the planted truth."""

    tables: dict[str, pd.DataFrame]
    truth: dict[str, pd.DataFrame] = field(default_factory=dict)

    def write(self, directory: str | Path) -> list[Path]:
        """Write one CSV per table into ``directory`` atomically (a temporary folder next to it, then renamed
        into place file by file). Same seed, same bytes. ``directory`` must be new, empty or a folder compkit
        wrote (it carries the marker ``.compkit-output``): a sample never overwrites real data. Files other than
        the tables (a README) are kept."""
        from compkit.atomic import check_output, remove_quietly, staging_folder, write_marker

        directory = check_output(directory, "sample")
        tmp = staging_folder(directory, "sample")
        try:
            names = []
            for name, df in self.tables.items():
                _to_csv(df, tmp / f"{name}.csv")
                names.append(name)
            directory.mkdir(exist_ok=True)
            written = []
            for name in names:
                os.replace(tmp / f"{name}.csv", directory / f"{name}.csv")
                written.append(directory / f"{name}.csv")
            write_marker(directory, "sample", manifest=False)
            return written
        finally:
            remove_quietly(tmp)


def _to_csv(df: pd.DataFrame, path: Path) -> None:
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[c] = s.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(s):
            out[c] = np.where(s, "true", "false")
        elif pd.api.types.is_float_dtype(s):
            out[c] = s.map(lambda v: "" if np.isnan(v) else f"{v:.2f}")
    out.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


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


def make_sample(managers: int = 1000, year: int = 2025, seed: int = 0, policy: Policy | None = None) -> Sample:
    """A reproducible population of ``managers`` customer managers for ``year`` (see the module docstring).

    One ``numpy.random.default_rng(seed)`` feeds the table functions in a fixed order (employees, metrics,
    sales, ratings, surveys, complaints, history, appeals); each draws only from it, so the order of the
    calls is the order of the draws and the same seed gives the same bytes."""
    policy = policy if policy is not None else load_policy(DEFAULT_POLICY)
    rng = np.random.default_rng(seed)
    employees, people = _employees(rng, managers, year, policy)
    metrics = _metrics(rng, people, policy)
    sales = _sales(rng, people, policy)
    ratings, rater_truth = _ratings(rng, people, policy)
    surveys = _surveys(rng, people)
    complaints = _complaints(rng, people)
    history = _history(rng, people, policy)
    appeals = _appeals(rng, year, metrics, ratings)
    truth = {"true_levels": rater_truth["true_levels"], "supervisor_leniency": rater_truth["supervisor_leniency"],
             "effects": _effects()}
    tables = {"employees": employees, "metrics": metrics, "sales": sales, "ratings": ratings, "surveys": surveys,
              "complaints": complaints, "history": history, "appeals": appeals}
    return Sample(tables, truth)


def _employees(rng: np.random.Generator, n: int, year: int, policy: Policy) -> tuple[pd.DataFrame, _People]:
    """The employees table and the drawn facts about each person the other tables use."""
    start, end = pd.Timestamp(f"{year}-01-01"), pd.Timestamp(f"{year}-12-31")
    regions = np.array(list(REGIONS))
    branch_list = np.array([b for r in regions for b in REGIONS[r]])
    branch_region = np.repeat(regions, 5)
    b_idx = rng.integers(0, len(branch_list), n)
    branch, region = branch_list[b_idx], branch_region[b_idx]
    grade_idx = rng.choice(4, n, p=[0.35, 0.35, 0.22, 0.08])
    grade_ids = np.array(policy.grade_ids)
    grade = grade_ids[np.minimum(grade_idx, len(grade_ids) - 1)]
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
    years_in_grade = np.minimum(tenure_years, rng.uniform(0.5, 6.0, n))
    grade_since = pd.DatetimeIndex(np.where(joiner, hire, start - pd.to_timedelta(
        np.round(years_in_grade * 365.25).astype(int), unit="D")))
    fte = np.where(rng.random(n) < 0.04, rng.choice([0.5, 0.8], n), 1.0)
    mids = np.array([policy.grade(g).base_monthly.mid for g in grade])
    lows = np.array([policy.grade(g).base_monthly.min for g in grade])
    highs = np.array([policy.grade(g).base_monthly.max for g in grade])
    base = mids * (1 + 0.05 * ability + 0.02 * np.minimum(years_in_grade, 5) - 0.05 + rng.normal(0, 0.03, n))
    base = np.where((branch == GAP_BRANCH) & (gender == "F"), base * 0.94, base)
    base = np.round(np.clip(base, lows * 0.95, highs * 1.05), 0)
    # supervisors: teams of about 10 within a branch
    order = np.lexsort((rng.random(n), b_idx))
    team_no = np.zeros(n, dtype=int)
    counts = np.bincount(b_idx[order], minlength=len(branch_list))
    pos_in_branch = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
    team_no[order] = pos_in_branch // 10
    team_key = b_idx * 1000 + team_no
    team_codes, team_inv = np.unique(team_key, return_inverse=True)
    supervisor = np.array([f"S{i + 1:04d}" for i in range(len(team_codes))])[team_inv]
    ids = np.array([f"E{i + 1:05d}" for i in range(n)])
    names = np.char.add(np.char.add(SURNAMES[rng.integers(0, len(SURNAMES), n)], " "),
                        GIVEN[rng.integers(0, len(GIVEN), n)])
    employees = pd.DataFrame({
        "employee_id": ids, "name": names, "branch": branch, "region": region, "grade": grade,
        "hire_date": hire, "exit_date": exit_date, "gender": gender, "birth_date": birth,
        "supervisor_id": supervisor, "fte": fte, "base_monthly": base.astype(float), "grade_since": grade_since})

    # months employed
    months = _months(year)
    m_start = pd.DatetimeIndex([pd.Timestamp(m + "-01") for m in months])
    m_end = m_start + pd.offsets.MonthEnd(0)
    hire_v = hire.to_numpy()[:, None]
    exit_v = exit_date.fillna(pd.Timestamp("2262-01-01")).to_numpy()[:, None]
    active = (hire_v <= m_end.to_numpy()[None, :]) & (exit_v >= m_start.to_numpy()[None, :])  # n x 12
    rows_e, rows_m = np.nonzero(active)
    people = _People(n=n, year=year, start=start, end=end, ids=ids, branch_list=branch_list, b_idx=b_idx,
                     region=region, grade=grade, grade_idx=grade_idx, gender=gender, ability=ability, hire=hire,
                     exit_date=exit_date, joiner=joiner, leaver=leaver, supervisor=supervisor, order=order,
                     counts=counts, months=months, active=active, rows_e=rows_e, rows_m=rows_m)
    return employees, people


def _metrics(rng: np.random.Generator, p: _People, policy: Policy) -> pd.DataFrame:
    """Monthly actual and target of each metric indicator; draws each person's performance ``p.perf``."""
    n, rows_e, rows_m, b_idx = p.n, p.rows_e, p.rows_m, p.b_idx
    perf = np.exp(0.12 * p.ability + rng.normal(0, 0.05, n))
    p.perf = perf
    market = np.ones(len(p.branch_list))
    market_factor = np.exp(rng.normal(0, 0.05, len(p.branch_list)))
    tough = p.branch_list == TOUGH_BRANCH
    target_factor = np.where(tough, 1.15, 1.0)
    metric_ids = [i.id for i in policy.scorecard.indicators if i.source == "metrics"]
    gscale = _grade_scale(p)
    frames = []
    for ind in metric_ids:
        base_target = METRIC_TARGETS.get(ind, 100.0)
        season = SEASON[rows_m] if ind in SUMMED or ind == "deposits_adb" else np.ones(len(rows_m))
        if ind == "npl_ratio":
            target = np.full(len(rows_m), base_target)
            actual = target / perf[rows_e] * np.exp(rng.normal(0, 0.25, len(rows_m)))
            actual = np.round(actual, 2)
        else:
            target = base_target * gscale[rows_e] * season * target_factor[b_idx[rows_e]]
            if ind in ("new_customers", "referrals"):
                target = np.maximum(np.round(target), 1.0)
            achieved = perf[rows_e] * market_factor[b_idx[rows_e]] * market[b_idx[rows_e]] \
                * np.exp(rng.normal(0, 0.18, len(rows_m)))
            actual = base_target * gscale[rows_e] * season * achieved
            if ind in ("new_customers", "referrals"):
                actual = rng.poisson(np.maximum(actual, 0)).astype(float)
            elif ind == "ftp_profit":
                actual = actual + rng.normal(0, 0.1 * base_target, len(rows_m))
            actual = np.round(actual, 2)
            target = np.round(target, 2)
        frames.append(pd.DataFrame({"employee_id": p.ids[rows_e], "period": np.array(p.months)[rows_m],
                                    "indicator": ind, "actual": actual, "target": target}))
    return pd.concat(frames, ignore_index=True).sort_values(["employee_id", "period", "indicator"],
                                                            kind="stable").reset_index(drop=True)


def _grade_scale(p: _People) -> np.ndarray:
    return np.array([GRADE_SCALE[min(g, 3)] for g in p.grade_idx])


def _sales(rng: np.random.Generator, p: _People, policy: Policy) -> pd.DataFrame:
    """Single deals per product with customer ids; about 2% reversed in a later month (deal id ending -R)."""
    n, rows_e, rows_m, perf, ids = p.n, p.rows_e, p.rows_m, p.perf, p.ids
    gscale = _grade_scale(p)
    products = policy.product_ids
    book = np.maximum(10, rng.poisson(60, n))  # customers per manager (some buy again: loyalty)
    frames = []
    deal_no = 0
    for pid in products:
        volume = PRODUCT_VOLUME.get(pid, 5_000_000.0)
        rate = DEALS_PER_MONTH.get(pid, 1.0)
        k = rng.poisson(rate * perf[rows_e] ** 2, len(rows_e))
        e = np.repeat(rows_e, k)
        mm = np.repeat(rows_m, k)
        size = volume / 12 / rate * gscale[e] ** 0.5 * np.exp(rng.normal(-0.18, 0.6, len(e)))
        size = np.round(size, -2)
        cust = rng.integers(0, book[e])
        deal = np.arange(deal_no, deal_no + len(e))
        deal_no += len(e)
        frames.append(pd.DataFrame({"e": e, "m": mm, "product": pid, "amount": size, "deal": deal, "cust": cust}))
    deals = pd.concat(frames, ignore_index=True)
    # reversals (2%): a later month of the same year, negative
    rev = (rng.random(len(deals)) < 0.02) & (deals["m"].to_numpy() < 11)
    r = deals[rev].copy()
    r["m"] = np.minimum(11, r["m"].to_numpy() + rng.integers(1, 3, len(r)))
    still = p.active[r["e"].to_numpy(), r["m"].to_numpy()]
    r = r[still]
    r["amount"] = -r["amount"]
    r["rev"] = True
    deals["rev"] = False
    deals = pd.concat([deals, r], ignore_index=True)
    deal_id = np.char.add("D", np.char.zfill(deals["deal"].to_numpy().astype(str), 7))
    deal_id = np.where(deals["rev"], np.char.add(deal_id, "-R"), deal_id)
    sales = pd.DataFrame({
        "employee_id": ids[deals["e"].to_numpy()], "period": np.array(p.months)[deals["m"].to_numpy()],
        "product": deals["product"].to_numpy(), "amount": deals["amount"].to_numpy(dtype=float),
        "deal_id": deal_id,
        "customer_id": np.char.add(np.char.add("C", ids[deals["e"].to_numpy()].astype(str)),
                                   np.char.add("-", deals["cust"].to_numpy().astype(str)))})
    return sales.sort_values("deal_id", kind="stable").reset_index(drop=True)


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
    leavers), centred on the person's true level + 0.6."""
    n, ids = p.n, p.ids
    k = np.where(rng.random(n) < 0.02, 0, rng.integers(10, 16, n))
    k = np.where(p.joiner | p.leaver, np.maximum(k // 2, 1), k)
    e = np.repeat(np.arange(n), k)
    date = _dates_in_employment(rng, p, e)
    dims = np.array(["attitude", "competence", "responsiveness", "overall"])
    surveys = pd.DataFrame({"employee_id": ids[e], "date": pd.DatetimeIndex(date),
                            "dimension": dims[rng.integers(0, 4, len(e))],
                            "score": np.clip(np.rint(p.true_level[e].mean(axis=1) + 0.6
                                                     + rng.normal(0, 0.7, len(e))), 1, 5),
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
    sup = ratings[(ratings["rater_role"] == "supervisor") & (ratings["item"] == "risk_management")]
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
