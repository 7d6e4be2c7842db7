"""compkit.scoring: curves, 360 aggregation, composite scores and ratings, with worked examples by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compkit.policy import Band, BandedCurve, InverseCurve, PiecewiseCurve, RatingBand, RatioCurve, ScaleCurve
from compkit.scoring import (
    absolute_ratings,
    achievement,
    assign_ratings,
    combine_raters,
    curve_score,
    guided_quotas,
    piecewise,
    ratio_score,
)

BANDS = [RatingBand(label=lab, min=m) for lab, m in [("A", 105), ("B", 95), ("C", 80), ("D", 65), ("E", 0)]]
SHARES = {"A": 0.15, "B": 0.30, "C": 0.40, "D": 0.10, "E": 0.05}


# --------------------------------------------------------------------------------------------- curves

def test_ratio_curve_worked_examples() -> None:
    curve = RatioCurve(type="ratio", threshold=0.6, cap=1.2)
    actual = np.array([50.0, 60.0, 90.0, 130.0, 59.9])
    target = np.full(5, 100.0)
    ach, score = curve_score(actual, target, curve)
    # 50/100 = 0.5 < 0.6 -> 0; 60/100 = 0.6 at the threshold -> 60; 0.9 -> 90; 1.3 capped at 1.2 -> 120
    assert ach.tolist() == pytest.approx([0.5, 0.6, 0.9, 1.3, 0.599])
    assert score.tolist() == pytest.approx([0.0, 60.0, 90.0, 120.0, 0.0])


def test_inverse_curve_worked_examples() -> None:
    curve = InverseCurve(type="inverse", threshold=0.5, cap=1.2)
    # NPL ratio target 2.0%: actual 1.6% -> 2.0/1.6 = 1.25 capped 1.2 -> 120; 2.5% -> 0.8 -> 80;
    # 5% -> 0.4 < 0.5 -> 0; 0% -> best possible -> cap -> 120
    ach, score = curve_score([1.6, 2.5, 5.0, 0.0], [2.0, 2.0, 2.0, 2.0], curve)
    assert ach[:3].tolist() == pytest.approx([1.25, 0.8, 0.4])
    assert np.isinf(ach[3])
    assert score.tolist() == pytest.approx([120.0, 80.0, 0.0, 120.0])


def test_scale_curve_worked_examples() -> None:
    # survey 1-5 onto 0-100: 100 x (x - 1) / 4: 1 -> 0, 3 -> 50, 4.2 -> 80, 5 -> 100; outside clipped
    _, score = curve_score([1, 3, 4.2, 5, 6], [np.nan] * 5, ScaleCurve(type="scale", min=1, max=5))
    assert score.tolist() == pytest.approx([0.0, 50.0, 80.0, 100.0, 100.0])


def test_banded_curve_worked_examples() -> None:
    curve = BandedCurve(type="banded", input="actual", bands=[Band(min=0, score=0), Band(min=3, score=60),
                                                           Band(min=5, score=100), Band(min=8, score=120)])
    # 2 new customers -> band 0 -> 0; 3 -> 60 (a boundary belongs to the band it starts); 7 -> 100; 9 -> 120
    _, score = curve_score([2, 3, 7, 9, -1], [np.nan] * 5, curve)
    assert score.tolist() == [0.0, 60.0, 100.0, 120.0, 0.0]


def test_piecewise_worked_examples() -> None:
    points = [[60, 0.0], [70, 0.5], [100, 1.0], [120, 1.5]]
    # 85: 0.5 + (85 - 70) / (100 - 70) x (1.0 - 0.5) = 0.75; 110: 1.0 + 10/20 x 0.5 = 1.25; flat outside
    assert piecewise([50, 60, 65, 85, 110, 130], points).tolist() == pytest.approx(
        [0.0, 0.0, 0.25, 0.75, 1.25, 1.5])
    curve = PiecewiseCurve(type="piecewise", points=[[0.5, 0], [1.0, 100], [1.5, 130]])
    _, score = curve_score([120.0], [100.0], curve)  # achievement 1.2: 100 + 0.2/0.5 x 30 = 112
    assert score.tolist() == pytest.approx([112.0])


def test_missing_and_zero_targets_are_undefined_not_inf() -> None:
    ach = achievement([10.0, 10.0, np.nan, 10.0], [0.0, np.nan, 5.0, -1.0])
    assert np.isnan(ach).all()
    assert np.isnan(ratio_score(ach, 0.5, 1.2)).all()


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 1e7), st.floats(0, 1e7), st.floats(1, 1e7), st.floats(0, 1), st.floats(1, 2))
def test_ratio_score_never_falls_when_actual_rises(a: float, b: float, target: float, thr: float,
                                                    cap: float) -> None:
    lo, hi = sorted([a, b])
    curve = RatioCurve(type="ratio", threshold=thr, cap=cap)
    s_lo = curve_score([lo], [target], curve)[1][0]
    s_hi = curve_score([hi], [target], curve)[1][0]
    assert s_hi >= s_lo
    assert 0 <= s_hi <= 100 * cap + 1e-9


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 100), st.floats(0, 100), st.floats(0.1, 10), st.floats(0, 1), st.floats(1, 2))
def test_inverse_score_never_falls_when_actual_falls(a: float, b: float, target: float, thr: float,
                                                      cap: float) -> None:
    lo, hi = sorted([a, b])
    curve = InverseCurve(type="inverse", threshold=thr, cap=cap)
    assert curve_score([lo], [target], curve)[1][0] >= curve_score([hi], [target], curve)[1][0]


# ------------------------------------------------------------------------------------ 360 aggregation

W = {"self": 0.1, "supervisor": 0.6, "peer": 0.3}


def _ratings(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["employee_id", "rater_id", "rater_role", "score"]).assign(item="x")


@pytest.mark.parametrize("rows", [1, 5, 1000, 100_000])
def test_row_sums_are_numpys_sums_along_the_rows(rows: int) -> None:
    """_row_sums (a column at a time below 8 columns) is numpy's sum along the rows bit for bit for 1-40 columns:
    mixed magnitudes and signs, zeros and rows of -0.0 (numpy's sum: 0.0), the rater weights' 0.1 + 0.6 + 0.3."""
    from compkit.money import row_sums as _row_sums

    rng = np.random.default_rng(rows)
    for m in list(range(1, 26)) + [31, 32, 33, 40]:
        values = rng.standard_normal((rows, m)) * 10.0 ** rng.integers(-12, 12, (rows, m))
        values[rng.random((rows, m)) < 0.2] = 0.0
        values[rng.random((rows, m)) < 0.1] = -0.0
        values[0, :3] = [0.1, 0.6, 0.3][:m]
        values[-1] = -0.0 if rows > 1 else values[-1]
        got, want = _row_sums(values), values.sum(axis=1)
        assert np.array_equal(got.view(np.int64), want.view(np.int64)), m
    assert _row_sums(np.array([[0.1, 0.6, 0.3]]))[0] == 1.0 != 0.1 + (0.6 + 0.3)


def test_combine_raters_all_roles() -> None:
    # self 5; supervisor 4; peers 3 and 4 -> mean 3.5: 0.1 x 5 + 0.6 x 4 + 0.3 x 3.5 = 0.5 + 2.4 + 1.05 = 3.95
    r = _ratings([("E1", "E1", "self", 5), ("E1", "S1", "supervisor", 4), ("E1", "E2", "peer", 3),
                  ("E1", "E3", "peer", 4)])
    out = combine_raters(r, W, min_peers=2)
    assert out["score"].iloc[0] == pytest.approx(3.95)
    assert out["rule"].iloc[0] == "all roles"
    assert out["n_peers"].iloc[0] == 2


def test_combine_raters_without_supervisor_shares_its_weight() -> None:
    # no supervisor: (0.1 x 5 + 0.3 x 3.5) / (0.1 + 0.3) = (0.5 + 1.05) / 0.4 = 3.875
    r = _ratings([("E1", "E1", "self", 5), ("E1", "E2", "peer", 3), ("E1", "E3", "peer", 4)])
    out = combine_raters(r, W, min_peers=2)
    assert out["score"].iloc[0] == pytest.approx(3.875)
    assert out[["w_self", "w_supervisor", "w_peer"]].iloc[0].tolist() == pytest.approx([0.25, 0.0, 0.75])
    assert "no supervisor rating" in out["rule"].iloc[0]


def test_combine_raters_without_peers_and_without_self() -> None:
    # no peer: (0.1 x 5 + 0.6 x 4) / 0.7 = 2.9 / 0.7 = 4.142857...
    r = _ratings([("E1", "E1", "self", 5), ("E1", "S1", "supervisor", 4)])
    assert combine_raters(r, W)["score"].iloc[0] == pytest.approx(2.9 / 0.7)
    # no self: (0.6 x 4 + 0.3 x 3) / 0.9 = 3.3 / 0.9 = 3.6667
    r = _ratings([("E1", "S1", "supervisor", 4), ("E1", "E2", "peer", 3), ("E1", "E3", "peer", 3)])
    assert combine_raters(r, W)["score"].iloc[0] == pytest.approx(3.3 / 0.9)


def test_combine_raters_excluding_self_and_too_few_peers() -> None:
    r = _ratings([("E1", "E1", "self", 5), ("E1", "S1", "supervisor", 4), ("E1", "E2", "peer", 2)])
    # self excluded, and 1 peer < min_peers 2: only the supervisor counts -> 4
    out = combine_raters(r, W, exclude_self=True, min_peers=2)
    assert out["score"].iloc[0] == pytest.approx(4.0)
    assert "self-rating excluded" in out["rule"].iloc[0]
    assert "fewer than 2 peers" in out["rule"].iloc[0]
    # with min_peers 1 the single peer counts: (0.6 x 4 + 0.3 x 2) / 0.9 = 3.0 / 0.9
    assert combine_raters(r, W, exclude_self=True, min_peers=1)["score"].iloc[0] == pytest.approx(3.0 / 0.9)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=3, max_size=3), st.floats(0.05, 0.9))
def test_weights_applied_once_when_all_scores_equal(scores: list[int], w_self: float) -> None:
    # if every role gives the same score s, the combined score is s whatever the weights
    s = scores[0]
    weights = {"self": w_self, "supervisor": (1 - w_self) / 2, "peer": (1 - w_self) / 2}
    r = _ratings([("E1", "E1", "self", s), ("E1", "S1", "supervisor", s), ("E1", "E2", "peer", s),
                  ("E1", "E3", "peer", s)])
    assert combine_raters(r, weights)["score"].iloc[0] == pytest.approx(s)


# ------------------------------------------------------------------------------------------- ratings

def test_absolute_bands() -> None:
    out = assign_ratings([110, 105, 104.99, 80, 64.9, np.nan], BANDS)
    assert out["rating_absolute"].iloc[:5].tolist() == ["A", "A", "B", "C", "E"]
    assert pd.isna(out["rating_absolute"].iloc[5])  # no score, no rating


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.floats(-10, 130), st.just(np.nan)), max_size=40), st.booleans())
def test_rating_columns_are_the_labels_as_pandas_makes_them(scores: list[float], above_zero: bool) -> None:
    """assign_ratings' rating columns (the labels gathered in Arrow, missing where there is no rating) are the
    columns pandas makes of the labels as Python strings and None: the same dtype and values; absolute_ratings
    gives those labels (a score below every band: none)."""
    bands = BANDS if not above_zero else [RatingBand(label=b.label, min=b.min + 1) for b in BANDS]
    out = assign_ratings(scores, bands, SHARES)
    absolute = absolute_ratings(scores, bands)
    want = pd.DataFrame({"rating_absolute": absolute})["rating_absolute"]
    assert out["rating_absolute"].dtype == want.dtype and out["rating_absolute"].tolist() == want.tolist()
    s = np.asarray(scores, dtype="float64")
    assert all((a is None) == (np.isnan(x) or x < bands[-1].min) for a, x in zip(absolute, s))
    guided = out["rating_guided"]
    assert guided.isna().tolist() == np.isnan(s).tolist()
    assert guided.dtype == pd.DataFrame({"g": np.where(np.isnan(s), None, "A")})["g"].dtype  # (no label: object)


@pytest.mark.parametrize("texts, index", [(["", "a; b", "é"], [2, 0, 1, 1, 0]), (["x"], []), ([1, "a"], [0, 1])])
def test_text_columns_are_those_pandas_makes(texts: list, index: list) -> None:
    """_text_column (the texts gathered in Arrow) is the column pandas makes of the texts as Python objects:
    the same dtype and values (no row: object; not all text: as they are)."""
    from compkit.scoring import _text_column

    index = np.asarray(index, dtype=np.int64)
    got = pd.DataFrame({"c": np.zeros(len(index))})
    got["c"] = _text_column(texts, index)
    want = pd.DataFrame({"c": np.zeros(len(index))})
    want["c"] = np.asarray(texts, dtype=object)[index]
    assert got["c"].dtype == want["c"].dtype and got["c"].tolist() == want["c"].tolist()


def test_guided_quotas_largest_remainder() -> None:
    # 7 people: exact 1.05 / 2.1 / 2.8 / 0.7 / 0.35 -> floors 1/2/2/0/0 = 5; the 2 left go to the largest
    # remainders, 0.8 (C) and 0.7 (D) -> 1/2/3/1/0
    q = guided_quotas([7, 20], list(SHARES.values()))
    assert q[0].tolist() == [1, 2, 3, 1, 0]
    # 20 people: exactly 3/6/8/2/1
    assert q[1].tolist() == [3, 6, 8, 2, 1]
    assert (q.sum(axis=1) == [7, 20]).all()


def test_guided_with_ties_on_a_small_group() -> None:
    # 7 people, quotas 1/2/3/1/0 (above). Scores best first: 100, 95, 95, 95, 80, 70, 60.
    # position 0 -> A; the three 95s start at position 1, inside B's places (1-2) -> all B (B takes 3, one
    # more than its quota, taken from C); 80 at position 4 -> C (places 3-5); 70 at position 5 -> C;
    # 60 at position 6 -> D.
    scores = [95, 60, 100, 95, 80, 95, 70]
    out = assign_ratings(scores, BANDS, SHARES, ["g"] * 7)
    assert out["rating_guided"].tolist() == ["B", "D", "A", "B", "C", "B", "C"]
    assert out["rank_in_group"].tolist() == [2, 7, 1, 2, 5, 2, 6]


def test_guided_within_groups_is_separate() -> None:
    scores = [90, 80, 70, 90, 80, 70]
    groups = ["N", "N", "N", "S", "S", "S"]
    out = assign_ratings(scores, BANDS, {"A": 1 / 3, "B": 1 / 3, "C": 1 / 3, "D": 0, "E": 0}, groups)
    assert out["rating_guided"].tolist() == ["A", "B", "C", "A", "B", "C"]
    assert out["group_size"].tolist() == [3] * 6


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(40, 120), min_size=1, max_size=60), st.integers(1, 3))
def test_higher_composite_never_gets_a_worse_rating_in_a_group(scores: list[int], n_groups: int) -> None:
    groups = [i % n_groups for i in range(len(scores))]
    out = assign_ratings(np.array(scores, dtype=float), BANDS, SHARES, groups)
    order = {lab: i for i, lab in enumerate("ABCDE")}
    for col in ("rating_guided", "rating_absolute"):
        rank = out[col].map(order).to_numpy()
        for g in range(n_groups):
            idx = [i for i in range(len(scores)) if groups[i] == g]
            for i in idx:
                for j in idx:
                    if scores[i] > scores[j]:
                        assert rank[i] <= rank[j]
                    if scores[i] == scores[j]:
                        assert rank[i] == rank[j]


@given(scores=st.lists(st.one_of(st.sampled_from([50.0, 80.0, 95.0, 105.0]), st.floats(0, 120), st.just(np.nan)),
                       min_size=1, max_size=30),
       seed=st.integers(0, 3))
@settings(max_examples=60, deadline=None)
def test_competition_ranks_match_pandas_within_groups(scores, seed) -> None:
    from compkit.scoring import competition_ranks

    s = np.array(scores)
    groups = np.random.default_rng(seed).integers(0, 3, len(s))
    key = pd.DataFrame({"g": groups, "s": np.where(np.isnan(s), -np.inf, s)})
    expected = (key.groupby("g")["s"].rank(method="min", ascending=False).to_numpy() - 1).astype("int64")
    assert (competition_ranks(s, groups) == expected).all()
    # one ranking per row of a 2-D array
    both = competition_ranks(np.stack([s, s[::-1]]), groups)
    assert (both[0] == expected).all()
    # each row ranked on its own, as the one-row ranking (many rows are ranked group by group)
    assert both.dtype == np.int64 and (both[1] == competition_ranks(s[::-1], groups)).all()


def test_guided_codes_worked_example() -> None:
    from compkit.scoring import guided_codes

    # one group, quotas [1, 2, 1]: cumulative 1, 3, 4; ranks 0, 2, 0, 3 -> bands 0, 1, 0, 2; no score -> -1
    codes = guided_codes(np.array([90.0, 80.0, 90.0, 70.0, np.nan]), np.zeros(5, dtype="int64"),
                         np.array([[1, 2, 1]]))
    assert codes.tolist() == [0, 1, 0, 2, -1]


@given(scores=st.lists(st.one_of(st.sampled_from([50.0, 80.0, 95.0, 105.0, 0.0, -0.0]), st.floats(0, 120),
                                 st.just(np.nan)), min_size=1, max_size=40),
       seed=st.integers(0, 50), rows=st.integers(1, 3))
@settings(max_examples=150, deadline=None)
def test_guided_codes_from_the_competition_ranks(scores, seed, rows) -> None:
    """The guided rating is the number of cumulative quotas the person's competition rank reaches (at most the last
    band): the same codes from the group's sorted scores, one distribution per row, groups of any sizes (quotas of
    the scored people, or of other sizes: a cumulative quota of 0 or beyond the group's people)."""
    from compkit.scoring import competition_ranks, guided_codes

    rng = np.random.default_rng(seed)
    s = np.array(scores)
    s = np.stack([s] + [rng.permutation(s) for _ in range(rows - 1)])
    groups = rng.integers(0, 3, s.shape[1])
    sizes = np.bincount(groups[~np.isnan(s[0])], minlength=3)
    if seed % 3 == 0:  # sizes other than the scored people's
        sizes = rng.integers(0, 12, 3)
    quotas = guided_quotas(sizes, list(SHARES.values()))
    cum = np.cumsum(quotas, axis=1)
    ranks = competition_ranks(s, groups)
    expected = np.minimum((cum[groups][None] <= ranks[..., None]).sum(axis=-1), quotas.shape[1] - 1)
    expected = np.where(np.isnan(s), -1, expected)
    got = guided_codes(s, groups, quotas)
    assert got.dtype == np.int64 and (got == expected).all()
    assert (guided_codes(s[0], groups, quotas) == expected[0]).all()  # one row


@pytest.mark.parametrize("through", [None, "2025-06"])
def test_metric_values_are_pandas_grouped_sums_and_means_bit_for_bit(bank_policy, sample, through) -> None:
    """indicator_values' metric cells (grouped on the n x k cells' codes) are pandas' grouped sum (min_count=1)
    and mean of the metrics table's rows on their labels, bit for bit; cells without rows NaN."""
    from compkit.scoring import indicator_values

    policy, data = bank_policy, sample
    values = indicator_values(policy, data, through, combine_raters(data.ratings, policy.scorecard.raters))
    m = data.metrics.astype({"employee_id": str, "indicator": str, "period": str})
    if through is not None:
        m = m[m["period"] <= through]
    grouped = m.groupby(["employee_id", "indicator"])[["actual", "target"]]
    by_how = {"sum": grouped.sum(min_count=1), "mean": grouped.mean()}
    got = values.astype({"employee_id": str, "indicator": str}).set_index(["employee_id", "indicator"])
    checked = 0
    for ind in policy.scorecard.indicators:
        if ind.source != "metrics" or ind.aggregate == "last":
            continue
        mine = got.xs(ind.id, level="indicator")
        want = by_how[ind.aggregate].xs(ind.id, level="indicator").reindex(mine.index) if ind.id in set(
            m["indicator"]) else pd.DataFrame(np.nan, index=mine.index, columns=["actual", "target"])
        for col in ("actual", "target"):
            assert np.array_equal(mine[col].to_numpy(), want[col].to_numpy(), equal_nan=True), (ind.id, col)
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize("form", ["text ids", "other categories", "last month"])
def test_metric_values_whatever_form_the_employee_ids_take(bank_policy, sample, form) -> None:
    """indicator_values counts the metrics' cells by the table's own employee codes and reads each employee's
    from them: the same values, bit for bit, when the ids are text, or a categorical whose categories are in
    another order with ids of nobody in the employees table (their rows ignored); an employee without metric
    rows gets NaN. With ``aggregate: last`` an indicator takes the employee's last month."""
    import dataclasses

    from compkit.scoring import indicator_values

    policy, data = bank_policy, sample
    if form == "last month":
        inds = policy.to_dict()["scorecard"]["indicators"]
        first = next(i for i in inds if i["source"] == "metrics")
        policy = policy.updated({"scorecard.indicators": [{**i, "aggregate": "last"} if i is first else i
                                                          for i in inds]})
    scores = combine_raters(data.ratings, policy.scorecard.raters)
    want = indicator_values(policy, data, None, scores)
    m = data.metrics
    ids = data.employees["employee_id"].astype(str)
    gone = set(ids.iloc[::7])  # employees without metric rows
    kept = m[~m["employee_id"].astype(str).isin(gone)]
    stranger = kept.iloc[:30].assign(employee_id="Z-nobody")  # rows of an id not in the employees table
    text = pd.concat([kept.astype({"employee_id": str}), stranger.astype({"employee_id": str})], ignore_index=True)
    if form == "text ids":
        metrics = text
    else:
        labels = sorted(set(m["employee_id"].astype(str)) | {"Z-nobody", "A-nobody"}, reverse=True)
        metrics = text.assign(employee_id=pd.Categorical(text["employee_id"], categories=labels))
    got = indicator_values(policy, dataclasses.replace(data, metrics=metrics), None, scores)
    metric = [ind.id for ind in policy.scorecard.indicators if ind.source == "metrics"]
    cells = want["indicator"].astype(str).isin(metric).to_numpy() & want["employee_id"].astype(str).isin(
        gone).to_numpy()
    for col in ("actual", "target"):
        expected = np.where(cells, np.nan, want[col].to_numpy())
        team = want["indicator"].astype(str).str.startswith("team_").to_numpy()  # (branch sums: other members)
        assert np.array_equal(got[col].to_numpy()[~team], expected[~team], equal_nan=True), col
    if form == "last month":
        last = m[m["indicator"].astype(str) == first["id"]].sort_values("period").groupby(
            m["employee_id"].astype(str), observed=True).tail(1)
        mine = want[want["indicator"].astype(str) == first["id"]]
        mine = mine.set_index(mine["employee_id"].astype(str))
        assert np.array_equal(mine.loc[last["employee_id"].astype(str), "actual"].to_numpy(),
                              last["actual"].to_numpy())


@pytest.mark.parametrize("kind", ["mixed magnitudes", "cancelling", "money", "halves", "tiny and signed zeros",
                                  "NaN", "infinite", "overflowing", "no rows"])
@pytest.mark.parametrize("kernel", [True, False], ids=["pandas' kernel", "public groupby"])
def test_grouped_means_from_the_sums_are_pandas_means_bit_for_bit(kind: str, kernel: bool,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """_grouped_sum_and_mean gives pandas' grouped sum(min_count=1) and mean bit for bit: the means from the same
    compensated sums (sum / rows) where the values hold no NaN and every sum is finite, pandas' own mean where
    they do not (a NaN value, an infinite one, or a sum overflowing on the way, where pandas' group_sum and
    group_mean part), groups without rows NaN. The same through pandas' private kernel and, where a pandas has
    no such kernel (or one taking other arguments), through its public groupby."""
    import compkit.scoring as scoring
    from compkit.scoring import _grouped_sum_and_mean

    if not kernel:
        monkeypatch.setattr(scoring, "_group_sum", None)
    elif scoring._group_sum is None:
        pytest.skip("this pandas has no group_sum kernel where compkit looks for it")

    rng = np.random.default_rng(sum(map(ord, kind)))
    n, n_groups = (0, 7) if kind == "no rows" else (60_000, 4_000)
    pick = {"mixed magnitudes": lambda: rng.standard_normal(n) * 10.0 ** rng.integers(-300, 300, n),
            "cancelling": lambda: rng.choice([1e16, -1e16, 1.0, 1e-3, 3.14159], n) * rng.standard_normal(n),
            "money": lambda: np.round(rng.uniform(-1e6, 1e9, n), 2),
            "halves": lambda: rng.integers(-5, 5, n) / 2.0,
            "tiny and signed zeros": lambda: rng.choice([0.0, -0.0, 5e-324, -5e-324, 1e-310, 1.0], n),
            "NaN": lambda: rng.choice([np.nan, 1.0, 2.5, 1e16], n),
            "infinite": lambda: rng.choice([np.inf, -np.inf, 1.0, 2.5], n),
            "overflowing": lambda: rng.choice([1e308, -1e308, 1.7e308, 1.0], n),
            "no rows": lambda: np.zeros(0)}[kind]
    values = pd.DataFrame({"a": pick(), "b": pick()})
    codes = rng.integers(-1, n_groups, n)  # (-1: a row in no group)
    sums, means = _grouped_sum_and_mean({"a": values["a"].to_numpy(), "b": values["b"].to_numpy()}, codes, n_groups)
    grouped = values.groupby(pd.Categorical.from_codes(codes, categories=pd.RangeIndex(n_groups)), sort=True,
                             observed=False)
    for got, want in ((sums, grouped.sum(min_count=1)), (means, grouped.mean())):
        assert list(got) == ["a", "b"]
        for col in ("a", "b"):
            assert got[col].dtype == np.float64
            assert np.array_equal(got[col].view(np.int64), want[col].to_numpy().view(np.int64)), col
    assert _grouped_sum_and_mean({"a": values["a"].to_numpy()}, codes, n_groups, mean=False)[1] == {}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=12), max_size=8), st.integers(0, 40), st.sampled_from([1, 3, 7, 4096]))
def test_repeated_labels_are_the_gathered_ones(labels: list[str], n: int, repeats: int) -> None:
    """_repeated_labels (the labels' bytes tiled, one block held as often as needed) is _gather_labels of the
    tiled positions: the same texts and dtype, empty and non-ASCII labels included, whether the block holds
    all n repetitions or a part (whole blocks, then a part of one)."""
    from compkit import scoring
    from compkit.scoring import _gather_labels, _repeated_labels

    kept, scoring._REPEATS = scoring._REPEATS, repeats
    try:
        got = _repeated_labels(labels, n)
    finally:
        scoring._REPEATS = kept
    want = _gather_labels(labels, np.tile(np.arange(len(labels)), n))
    assert got.dtype == want.dtype and len(got) == len(want) == n * len(labels)
    assert list(got) == list(want) == labels * n
    assert pd.Series(got).equals(pd.Series(want))


def test_combined_raters_carry_the_ratings_codes(sample) -> None:
    """combine_raters' employee_id and item are categoricals of the loaded ratings' own categories (the scorecard
    finds each row's employee by its code), the rule a categorical of its texts: the same texts as the labels
    gathered per row, rows by employee then item."""
    ratings = sample.ratings
    out = combine_raters(ratings, {"self": 0.1, "supervisor": 0.6, "peer": 0.3})
    for col in ("employee_id", "item"):
        assert out[col].dtype is ratings[col].dtype
    pairs = ratings[["employee_id", "item"]].astype(str).drop_duplicates().sort_values(["employee_id", "item"])
    assert out[["employee_id", "item"]].astype(str).to_numpy().tolist() == pairs.to_numpy().tolist()
    assert isinstance(out["rule"].dtype, pd.CategoricalDtype) and out["rule"].notna().all()
    # text ids (no categorical): categoricals of their sorted labels
    text = combine_raters(ratings.astype({"employee_id": str, "item": str}), {"self": 1.0})
    assert list(text["employee_id"].cat.categories) == sorted(set(ratings["employee_id"].astype(str)))
    assert text["employee_id"].astype(str).tolist() == out["employee_id"].astype(str).tolist()


def test_ratings_values_are_the_combined_scores_of_each_item(bank_policy, sample) -> None:
    """Each ratings indicator's actual is the 360 combined score of its item for the employee (NaN: not rated),
    an item read by two indicators included."""
    from compkit.scoring import indicator_values

    data = sample
    inds = bank_policy.to_dict()["scorecard"]["indicators"]
    first = next(i for i in inds if i["source"] == "ratings")
    twin = {**first, "id": "twin_" + first["id"], "weight": 0.0, "item": first.get("item", first["id"])}
    policy = bank_policy.updated({"scorecard.indicators": inds + [twin]})
    scores = combine_raters(data.ratings, policy.scorecard.raters)
    values = indicator_values(policy, data, None, scores).astype({"employee_id": str, "indicator": str})
    got = values.set_index(["employee_id", "indicator"])["actual"]
    given = scores.astype({"employee_id": str, "item": str}).set_index(["employee_id", "item"])["score"]
    ids = data.employees["employee_id"].astype(str).tolist()
    checked = 0
    for ind in policy.scorecard.indicators:
        if ind.source != "ratings":
            continue
        want = given.xs(ind.rating_item, level="item").reindex(ids).to_numpy()
        assert np.array_equal(got.xs(ind.id, level="indicator").reindex(ids).to_numpy(), want, equal_nan=True), ind.id
        checked += 1
    assert checked >= 3


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 120)),
                          st.sampled_from(["华东", "华北", "b", "B", "a", "é", "e", "Z9", "", "a\x00"])),
                min_size=1, max_size=40))
def test_ratings_within_arrow_text_groups_as_its_python_strings(rows: list) -> None:
    """assign_ratings grouped by an Arrow text column (factorized as it is) gives what the column's Python
    strings give: the same groups in the same order."""
    scores = np.array([np.nan if s is None else float(s) for s, _ in rows])
    texts = pd.array([g for _, g in rows], dtype=pd.StringDtype("pyarrow", na_value=np.nan))
    got = assign_ratings(scores, BANDS, SHARES, texts)
    want = assign_ratings(scores, BANDS, SHARES, np.asarray(texts, dtype=object))
    pd.testing.assert_frame_equal(got, want)


def test_team_groups_worked_example() -> None:
    """_team_groups: by branch, each employee reads and adds to its branch's group; by supervisor, each reads its
    own group (its position) and adds to its supervisor's (-1: none, or not an employee). team_totals with the
    groups given is team_totals without them."""
    from compkit.scoring import _team_groups, team_totals

    emp = pd.DataFrame({"employee_id": ["A", "B", "C", "D"], "branch": ["x", "y", "x", "y"],
                        "supervisor_id": [None, "A", "A", "Z"]})
    own, member, n_groups = _team_groups(emp, "branch")
    assert own.tolist() == member.tolist() == [0, 1, 0, 1] and n_groups == 2
    own, member, n_groups = _team_groups(emp, "supervisor")
    assert own.tolist() == [0, 1, 2, 3] and member.tolist() == [-1, 0, 0, -1] and n_groups == 4
    actual, target = np.array([1.0, 2.0, np.nan, 4.0]), np.array([10.0, 20.0, 30.0, 40.0])
    for team in ("branch", "supervisor"):
        want = team_totals(emp, team, actual, target)
        got = team_totals(emp, team, actual, target, _team_groups(emp, team))
        assert all(np.array_equal(g, w, equal_nan=True) for g, w in zip(got, want))
    assert np.array_equal(team_totals(emp, "branch", actual, target)[0], [1.0, 6.0, 1.0, 6.0])
    assert np.array_equal(team_totals(emp, "supervisor", actual, target)[0], [2.0, np.nan, np.nan, np.nan],
                          equal_nan=True)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 2 ** 64 - 1), max_size=40), st.booleans())
def test_nan_to_num_is_numpys_bit_for_bit(bits: list[int], given_mask: bool) -> None:
    """_nan_to_num is np.nan_to_num bit for bit for any float64 bit pattern (NaN of either sign and any payload,
    +-inf, -0.0, subnormals), with the NaN mask given or not; a new array, the input left as it was."""
    from compkit.scoring import _nan_to_num

    special = [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 5e-324, -5e-324, np.finfo(np.float64).max, 1.5]
    values = np.concatenate([np.array(bits, dtype=np.uint64).view(np.float64), special]).reshape(-1, 1)
    before = values.copy()
    got = _nan_to_num(values, np.isnan(values) if given_mask else None)
    assert got is not values and got.shape == values.shape and got.dtype == np.float64
    assert np.array_equal(got.view(np.uint64), np.nan_to_num(values).view(np.uint64))
    assert np.array_equal(values.view(np.uint64), before.view(np.uint64))
