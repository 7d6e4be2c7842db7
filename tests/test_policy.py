"""compkit.policy: loading, the rules of the policy file with their messages, diff and updates."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from compkit.errors import PolicyError
from compkit.policy import Policy, load_policy, policy_from_dict

ROOT = Path(__file__).resolve().parent.parent
# the simple one-scorecard policy the examples below edit, and the bundled bank's policies
P2025 = ROOT / "data" / "policies" / "examples" / "simple-2025.yaml"
P2026 = ROOT / "data" / "policies" / "examples" / "simple-2026.yaml"
BANK_2025 = ROOT / "data" / "policies" / "2025.yaml"
BANK_2026 = ROOT / "data" / "policies" / "2026.yaml"


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(P2025.read_text(encoding="utf-8"))


def _errors(data: dict) -> str:
    with pytest.raises(PolicyError) as info:
        policy_from_dict(data, source="test.yaml")
    return str(info.value)


def test_shipped_policies_load() -> None:
    p = load_policy(P2025)
    assert p.version == "2025"
    assert p.grade_ids == ["CM1", "CM2", "SCM", "RM"]
    assert set(p.scorecard.categories) == {"performance", "ability", "attitude"}
    # the six competencies of the seed are rated 360
    assert {"professional_knowledge", "communication", "customer_service", "risk_management",
            "teamwork_leadership", "innovation"} <= set(p.rating_items)
    assert load_policy(P2026).version == "2026"


def test_weights_sum_to_one_within_each_category() -> None:
    p = load_policy(P2025)
    for cat in p.scorecard.categories:
        s = sum(i.weight for i in p.scorecard.indicators if i.category == cat)
        assert s == pytest.approx(1.0), cat
    assert sum(p.scorecard.categories.values()) == pytest.approx(1.0)


# ---------------------------------------------------------------------------------- bad policy corpus

def _set(data: dict, path: list, value) -> dict:
    d = copy.deepcopy(data)
    node = d
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return d


BAD = [
    # (what, change, expected fragment of the message)
    ("category weights do not sum to 1", (["scorecard", "categories", "performance"], 0.5),
     "scorecard.categories: weights sum to 0.9, expected 1"),
    ("indicator weights do not sum to 1", (["scorecard", "indicators", 0, "weight"], 0.30),
     "weights in category 'performance' sum to 1.1, expected 1"),
    ("unknown category", (["scorecard", "indicators", 16, "category"], "attitudes"),
     "scorecard.indicators[16].category: unknown category 'attitudes'"),
    ("rate above 1", (["commission", "products", 0, "rate"], 1.5),
     "commission.products[0].rate: Input should be less than or equal to 1"),
    ("negative rate", (["commission", "products", 0, "rate"], -0.01),
     "commission.products[0].rate: Input should be greater than or equal to 0"),
    ("rater weights", (["scorecard", "raters", "self"], 0.2),
     "rater weights self + supervisor + peer sum to 1.1, expected 1"),
    ("curve not increasing", (["bonus", "curve"], [[60, 0.0], [70, 0.5], [65, 1.0]]),
     "the curve is not increasing: bonus.curve[].score must be strictly increasing"),
    ("guided shares", (["ratings", "guided", "shares", "A"], 0.25), "ratings.guided.shares sum to 1.1, expected 1"),
    ("unknown key", (["bonus", "defferal"], {"share": 0.4}), "bonus.defferal: unknown key"),
    ("cycle", (["cycle"], "quarterly"), "cycle: Input should be 'annual' or 'half-year'"),
    ("merit matrix row width", (["salary_review", "merit_matrix", "A"], [0.08, 0.06]),
     "salary_review.merit_matrix.A has 2 values, expected 3"),
    ("unknown promotion grade", (["promotion", 0, "to"], "CM9"), "promotion[0].to: unknown grade 'CM9'"),
    ("benefit floor above cap", (["benefits", "housing_fund", "base", "floor"], 50000),
     "benefits.housing_fund.base: floor 50000 is above cap 36921"),
]


#: the same corpus in Chinese, the default language (PolicyError.message()): key paths and values verbatim
BAD_ZH = {
    "category weights do not sum to 1": "scorecard.categories：权重合计为 0.9，应为 1",
    "indicator weights do not sum to 1": "scorecard.indicators：类别“performance”内的权重合计为 1.1，应为 1",
    "unknown category": "scorecard.indicators[16].category：未知类别“attitudes”，应为 performance, ability, attitude "
                        "之一",
    "rate above 1": "commission.products[0].rate：应小于或等于 1（现为 1.5）",
    "negative rate": "commission.products[0].rate：应大于或等于 0（现为 -0.01）",
    "rater weights": "scorecard.raters：评分人权重 self + supervisor + peer 合计为 1.1，应为 1",
    "curve not increasing": "曲线不是递增的：bonus.curve[].score 必须严格递增，但第 2 项（65.0）排在 70.0 之后",
    "guided shares": "ratings：ratings.guided.shares 合计为 1.1，应为 1",
    "unknown key": "bonus.defferal：未知的键（不属于政策文件格式，请检查拼写）",
    "cycle": "cycle：应为 'annual' 或 'half-year'（现为 'quarterly'）",
    "merit matrix row width": "salary_review.merit_matrix.A 有 2 个值，应为 3 个（每个比较比率区间一个）",
    "unknown promotion grade": "（顶层）：promotion[0].to：未知职级“CM9”，应为 ['CM1', 'CM2', 'SCM', 'RM'] 之一",
    "benefit floor above cap": "benefits.housing_fund.base：下限 50000 高于上限 36921",
}


@pytest.mark.parametrize("what,change,expected", BAD, ids=[b[0] for b in BAD])
def test_bad_policy_reads_in_chinese_by_default(raw: dict, what: str, change: tuple, expected: str) -> None:
    path, value = change
    with pytest.raises(PolicyError) as info:
        policy_from_dict(_set(raw, path, value), source="test.yaml")
    message = info.value.message()
    assert message.startswith(f"政策文件 test.yaml 有 {len(info.value.messages)} 个问题：\n")
    assert BAD_ZH[what] in message, message
    assert info.value.message("en") == str(info.value) and expected in str(info.value)


def test_unreadable_policy_reads_in_chinese(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path / "missing.yaml")
    assert info.value.message() == f"政策文件 {tmp_path / 'missing.yaml'} 有 1 个问题：\n  - 文件不存在"
    bad = tmp_path / "bad.yaml"
    bad.write_text("cycle: annual\nbonus: [1, 2\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(bad)
    assert "行" in info.value.message() and "不是有效的 YAML" in info.value.message()


@pytest.mark.parametrize("what,change,expected", BAD, ids=[b[0] for b in BAD])
def test_bad_policy_names_key_path_and_rule(raw: dict, what: str, change: tuple, expected: str) -> None:
    path, value = change
    message = _errors(_set(raw, path, value))
    assert "test.yaml" in message
    assert expected in message


def test_tier_gap_and_overlap_are_errors(raw: dict) -> None:
    gap = _set(raw, ["commission", "products", 1, "tiers"],
               [{"upto": 1_000_000, "rate": 0.01}, {"from": 1_200_000, "upto": 5_000_000, "rate": 0.015},
                {"rate": 0.02}])
    assert "tiers[1] starts at 1.2e+06 but the previous tier ends at 1e+06: a gap between tiers" in _errors(gap)
    overlap = _set(raw, ["commission", "products", 1, "tiers"],
                   [{"upto": 1_000_000, "rate": 0.01}, {"from": 900_000, "upto": 5_000_000, "rate": 0.015},
                    {"rate": 0.02}])
    assert "an overlap between tiers" in _errors(overlap)
    not_rising = _set(raw, ["commission", "products", 1, "tiers"],
                      [{"upto": 5_000_000, "rate": 0.01}, {"upto": 1_000_000, "rate": 0.015}, {"rate": 0.02}])
    assert "tiers[1].upto 1e+06 is not above the tier's start 5e+06" in _errors(not_rising)
    closed = _set(raw, ["commission", "products", 1, "tiers"], [{"upto": 1_000_000, "rate": 0.01}])
    assert "must be open-ended" in _errors(closed)


def test_product_needs_exactly_one_form(raw: dict) -> None:
    both = _set(raw, ["commission", "products", 0, "rate_per_10k"], 6)
    assert "give exactly one of rate, rate_per_10k or tiers (found ['rate', 'rate_per_10k'])" in _errors(both)


def test_several_problems_are_reported_together(raw: dict) -> None:
    d = _set(raw, ["scorecard", "categories", "performance"], 0.5)
    d = _set(d, ["commission", "products", 0, "rate"], 2.0)
    message = _errors(d)
    assert "scorecard.categories" in message and "commission.products[0].rate" in message


def test_unreadable_policy_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="file not found"):
        load_policy(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("policy: x\n  version: [1,\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"line \d+, column \d+: not valid YAML"):
        load_policy(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="expected a mapping of policy keys"):
        load_policy(scalar)


# ----------------------------------------------------------------------------------- diff and updates

def test_diff_lists_changes_by_key_path() -> None:
    a, b = load_policy(P2025), load_policy(P2026)
    paths = {c.path for c in a.diff(b)}
    assert "version" in paths
    assert any(p.startswith("scorecard.indicators[") and p.endswith(".weight") for p in paths)
    assert any(p.startswith("commission.products[insurance].tiers") for p in paths)
    assert any(p.startswith("bonus.curve") for p in paths)
    assert a.diff(a) == []


def test_updated_sets_a_value_and_validates() -> None:
    p = load_policy(P2025)
    q = p.updated({"commission.products[insurance].tiers[0].upto": 1_500_000})
    changes = p.diff(q)
    assert [(c.path, c.before, c.after) for c in changes] == [
        ("commission.products[insurance].tiers[0].upto", 1_000_000.0, 1_500_000.0)]
    with pytest.raises(PolicyError, match="unknown key|weights"):
        p.updated({"scorecard.categories.performance": 0.9})
    with pytest.raises(PolicyError, match="no item with id 'gold'"):
        p.updated({"commission.products[gold].rate": 0.1})


def test_yaml_round_trip_is_lossless(tmp_path: Path) -> None:
    p = load_policy(P2025)
    p.to_yaml(tmp_path / "copy.yaml")
    q = load_policy(tmp_path / "copy.yaml")
    assert q == p and q.fingerprint() == p.fingerprint()


def test_fingerprint_is_the_sha256_of_the_canonical_yaml_whether_remembered_or_not(monkeypatch) -> None:
    """Policy.fingerprint remembers the fingerprints it worked out (by the repr of the policy's plain data): a
    policy asked again, or another of the same content, gets the value worked out in full (sha256 of the YAML
    with sorted keys); a policy that differs in one value gets its own; at most _FINGERPRINTS_KEPT are held."""
    import hashlib

    from compkit import policy as policy_module

    def in_full(p: Policy) -> str:
        return hashlib.sha256(yaml.safe_dump(p.to_dict(), sort_keys=True).encode()).hexdigest()

    monkeypatch.setattr(policy_module, "_FINGERPRINTS", {})
    monkeypatch.setattr(policy_module, "_FINGERPRINTS_KEPT", 3)
    p, same = load_policy(BANK_2025), load_policy(BANK_2025)
    assert p.fingerprint() == in_full(p)
    assert same.fingerprint() == p.fingerprint() and len(policy_module._FINGERPRINTS) == 1  # remembered
    # 0.004 -> 0.0040000001: one rate, a different fingerprint (and then that one remembered too)
    rate = p.get("commission.products[funds].rate")
    other = p.updated({"commission.products[funds].rate": rate + 1e-10})
    assert other.fingerprint() == in_full(other) != p.fingerprint()
    # more policies than are kept: the oldest let go, every value still the one worked out in full
    many = [p.updated({"version": f"v{i}"}) for i in range(5)]
    assert [q.fingerprint() for q in many] == [in_full(q) for q in many]
    assert len(policy_module._FINGERPRINTS) == 3
    assert p.fingerprint() == in_full(p)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(min_value=0.01, max_value=1.0), min_size=3, max_size=3))
def test_category_weights_valid_iff_they_sum_to_one(weights: list[float]) -> None:
    raw = yaml.safe_load(P2025.read_text(encoding="utf-8"))
    total = sum(weights)
    raw["scorecard"]["categories"] = dict(zip(["performance", "ability", "attitude"], [w / total for w in weights]))
    # normalised weights sum to 1 within floating tolerance: always valid
    assert isinstance(policy_from_dict(raw), Policy)
    raw["scorecard"]["categories"]["attitude"] += 0.01
    with pytest.raises(PolicyError, match="weights sum to"):
        policy_from_dict(raw)


# ---------------------------------------------------------------------------------- rating labels


def test_rating_names_are_chinese_by_default_on_five_bands(raw: dict) -> None:
    data = copy.deepcopy(raw)
    for band in data["ratings"]["bands"]:
        band.pop("name", None)
    p = policy_from_dict(data)
    # five bands without names: 优秀, 良好, 称职, 基本称职, 不称职 from best to worst
    assert list(p.ratings.names.values()) == ["优秀", "良好", "称职", "基本称职", "不称职"]
    assert list(p.ratings.names) == p.ratings.labels


def test_rating_names_are_configurable(raw: dict) -> None:
    data = copy.deepcopy(raw)
    data["ratings"]["bands"][0]["name"] = "卓越"
    p = policy_from_dict(data)
    assert p.ratings.names[p.ratings.labels[0]] == "卓越"
    assert p.ratings.names[p.ratings.labels[1]] == "良好"  # the others keep their defaults
    # a scale of another size reads its labels unless named
    three = copy.deepcopy(raw)
    three["ratings"] = {"method": "absolute", "bands": [{"label": "high", "min": 90}, {"label": "mid", "min": 70},
                                                         {"label": "low", "min": 0, "name": "待改进"}]}
    three["salary_review"]["merit_matrix"] = {"high": [0.05, 0.04, 0.03], "mid": [0.03, 0.02, 0.01],
                                              "low": [0.0, 0.0, 0.0]}
    three.pop("promotion"), three.pop("demotion", None)
    three["bonus"].pop("by_rating", None)
    assert policy_from_dict(three).ratings.names == {"high": "high", "mid": "mid", "low": "待改进"}


def test_rating_names_must_be_unique_and_not_another_label(raw: dict) -> None:
    data = copy.deepcopy(raw)
    data["ratings"]["bands"][0]["name"] = "良好"
    assert "names must be unique" in _errors(data)
    data = copy.deepcopy(raw)
    data["ratings"]["bands"][0]["name"] = data["ratings"]["bands"][1]["label"]
    assert "is another rating's label" in _errors(data)


def test_duplicate_yaml_keys_are_refused_with_their_lines(tmp_path: Path) -> None:
    lines = P2025.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("currency:"))
    lines.insert(at + 1, "currency: USD")  # the last would win silently
    bad = tmp_path / "dup.yaml"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(bad)
    assert (f"line {at + 2}: key 'currency' appears twice in the same mapping (first at line {at + 1}); "
            "expected each key once") in str(info.value)
    # nested and in flow style too: {rate: 0.1, rate: 10}
    nested = tmp_path / "nested.yaml"
    nested.write_text("a:\n  b: {rate: 0.1, rate: 10}\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="line 2: key 'rate' appears twice"):
        load_policy(nested)


def test_inputs_options_default_to_refuse() -> None:
    p = load_policy(P2025)
    assert p.inputs.zero_target == "refuse" and p.inputs.supervisor_rating == "refuse"
    assert p.updated({"inputs.zero_target": "missing"}).inputs.zero_target == "missing"
    with pytest.raises(PolicyError, match="inputs.zero_target"):
        p.updated({"inputs.zero_target": "ignore"})


def test_the_bundled_bank_policies_use_the_scheme_keys() -> None:
    """data/policies/2025.yaml and 2026.yaml: five scorecards by line and grade (team leaders on their branch's
    results), pay steps moved by the salary review, the bank's products, new-hire protection; 2026 moves weight to
    fee income and FTP profit, raises the first insurance tier and steepens the bonus curve."""
    a, b = load_policy(BANK_2025), load_policy(BANK_2026)
    assert [s.id for s in a.scorecards] == ["corporate", "retail", "wealth", "small_business", "team_leaders"]
    team = [i for i in a.scorecard.indicators if i.source == "team"]
    assert {i.of for i in team} == {"deposits_adb", "fee_income", "ftp_profit"} and {i.team for i in team} == {"branch"}
    assert all(g.steps for g in a.grades) and a.salary_review.method == "steps"
    assert a.product_ids == ["deposits", "fee_income", "holdings", "funds", "insurance", "loans", "sme_loans"]
    assert a.new_hire_protection is not None and a.new_hire_protection.months == 6
    assert a.bonus.deferral.components == ["bonus", "commission"]
    changes = {c.path for c in a.diff(b)}
    assert {"scorecards[corporate].weights.fee_income", "commission.products[insurance].tiers[0].upto",
            "bonus.curve[3][1]", "budget"} <= changes
