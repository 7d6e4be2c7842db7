"""compkit.privacy: the pseudonym key and its sources, keyed pseudonyms, k-anonymity, suppression of small groups
and small cells, the scan for identifiers, and the refusal of a reports folder for per-person output."""
from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compkit.privacy import (
    WITHHELD,
    PrivacyError,
    k_anonymise,
    pseudonym_key,
    pseudonyms,
    refuse_reports_folder,
    scan_for_identifiers,
    suppress,
    suppress_small_cells,
    weak_key_reason,
)

KEY = b"test-key-0123456789abcdef"


def test_pseudonym_is_the_hmac_sha256_of_the_id() -> None:
    # the published HMAC-SHA256 test value: key "key", message "The quick brown fox jumps over the lazy dog" ->
    # f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8; a pseudonym is P- and its first 10 digits
    fox = "The quick brown fox jumps over the lazy dog"
    assert pseudonyms([fox], b"key").tolist() == ["P-f7bc83f430"]
    assert pseudonyms([fox], b"key", length=16).tolist() == ["P-f7bc83f430538424"]
    # with a scope the message is "scope|id", so the same person has another pseudonym in another cycle
    scoped = hmac.new(KEY, b"publication 2025|E1", hashlib.sha256).hexdigest()[:10]
    assert pseudonyms(["E1"], KEY, scope="publication 2025").tolist() == [f"P-{scoped}"]
    assert pseudonyms(["E1"], KEY, scope="publication 2026")[0] != f"P-{scoped}"


@pytest.mark.parametrize(("key", "reason"), [
    (b"aaaaaaaaaaaaaaaa", "only 1 distinct character(s); expected at least 6"),
    (b"abababababababab", "only 2 distinct character(s); expected at least 6"),
    (b"aaaaaaaaaaabcdefg", "one character makes up more than half of it"),
    (b"0123456789abcdef", None),  # hex digits: '9' -> 'a' is not a step of 1 in bytes
    (b"abcdefghijklmnop", "a run of consecutive characters"),
    (b"ponmlkjihgfedcba", "a run of consecutive characters"),
    (b"9f2c41d7e0b85a36", None),
])
def test_weak_keys(key: bytes, reason: str | None) -> None:
    assert weak_key_reason(key) == reason


def test_a_weak_key_from_the_environment_is_refused() -> None:
    with pytest.raises(PrivacyError, match="too weak .*a run of consecutive characters"):
        pseudonym_key({"COMPKIT_PSEUDONYM_KEY": "abcdefghijklmnopq"})


def test_suppress_blanks_the_figures_of_small_groups_and_keeps_the_head_count() -> None:
    t = pd.DataFrame({"group": ["a", "b", "c"], "n": [4, 5, 12], "mean": [10.0, 20.0, 30.0], "count": [1, 2, 3],
                      "flag": [True, False, True]})
    out = suppress(t)  # min_n 5: a (4 people) is suppressed, b (5) is not
    assert out["n"].tolist() == [4, 5, 12]
    assert np.isnan(out.loc[0, "mean"]) and np.isnan(out.loc[0, "count"])
    assert out["mean"].tolist()[1:] == [20.0, 30.0] and out["count"].tolist()[1:] == [2.0, 3.0]
    assert out["flag"].tolist() == [True, False, True]  # booleans are not figures
    assert out["suppressed"].tolist() == [True, False, False]
    # keep and columns choose what is blanked; an existing 'suppressed' column is OR-ed
    kept = suppress(t.assign(suppressed=[False, False, True]), keep=["count"], min_n=5)
    assert kept.loc[0, "count"] == 1 and kept["suppressed"].tolist() == [True, False, True]
    with pytest.raises(ValueError, match="column 'people' not found"):
        suppress(t, count_col="people")


def test_per_person_output_is_refused_under_reports(tmp_path: Path) -> None:
    for folder in ("reports/statements", "Reports/x", "REPORTS"):
        with pytest.raises(PrivacyError, match="never under reports/"):
            refuse_reports_folder(tmp_path / folder, "statements")
    assert refuse_reports_folder(tmp_path / "private" / "statements", "statements") == \
        (tmp_path / "private" / "statements").resolve()
    assert refuse_reports_folder(tmp_path / "my-reports-x", "statements").name == "my-reports-x"


def test_pseudonyms_are_keyed_and_stable() -> None:
    a = pseudonyms(["E1", "E2", "E1"], KEY)
    assert a[0] == a[2] and a[0] != a[1] and a[0].startswith("P-") and len(a[0]) == 12
    assert pseudonyms(["E1"], b"another-key-0123456789")[0] != a[0]


def test_pseudonym_key_sources(tmp_path: Path) -> None:
    assert pseudonym_key({"COMPKIT_PSEUDONYM_KEY": "k3y-f0r-t3sts-only"}) == b"k3y-f0r-t3sts-only"
    with pytest.raises(PrivacyError, match="no pseudonym key: set COMPKIT_PSEUDONYM_KEY"):
        pseudonym_key({})
    with pytest.raises(PrivacyError, match="expected at least 16"):
        pseudonym_key({"COMPKIT_PSEUDONYM_KEY": "short"})
    outside = tmp_path / "secret.key"
    outside.write_text("9f2c41d7e0b85a36" * 2 + "\n")
    outside.chmod(0o644)
    with pytest.raises(PrivacyError, match="can be read by other users .*chmod 600"):
        pseudonym_key({"COMPKIT_PSEUDONYM_KEY_FILE": str(outside)})
    outside.chmod(0o600)
    assert pseudonym_key({"COMPKIT_PSEUDONYM_KEY_FILE": str(outside)}) == b"9f2c41d7e0b85a36" * 2
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    inside = repo / "data" / "secret.key"
    inside.parent.mkdir()
    inside.write_text("9f2c41d7e0b85a36" * 2)
    inside.chmod(0o600)
    with pytest.raises(PrivacyError, match="inside the git working tree"):
        pseudonym_key({"COMPKIT_PSEUDONYM_KEY_FILE": str(inside)})


def test_small_cells_are_withheld_with_a_complement() -> None:
    """Counts per branch (优秀, 良好, 称职, 基本称职, 不称职), min_cell 3:
    A 2, 5, 8, 0, 1 -> two small cells (2 and 1) withheld; that is enough, n = 16 minus the shown 13 leaves 3 to
    split between them. B 3, 6, 10, 0, 1 -> one small cell (1): n - (3 + 6 + 10) would give it back, so the
    smallest other non-zero cell (3, 优秀) is withheld too. C 4, 4, 12, 0, 0 -> nothing small, nothing withheld
    (zeros are shown: nobody holds them)."""

    counts = pd.DataFrame([[2, 5, 8, 0, 1], [3, 6, 10, 0, 1], [4, 4, 12, 0, 0]], index=["A", "B", "C"])
    withheld = suppress_small_cells(counts, min_cell=3)
    assert withheld.tolist() == [[True, False, False, False, True],
                                 [True, False, False, False, True],
                                 [False, False, False, False, False]]
    assert not suppress_small_cells(counts, min_cell=1).any()


def test_scan_finds_ids_and_names(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text("<td>E00012</td><td>E000123</td><p>Wang Wei</p>")
    hits = scan_for_identifiers(tmp_path, ["E00012", "E00099"], ["Wang Wei", "Li"])
    assert [(h.kind, h.value) for h in hits] == [("employee id", "E00012"), ("name", "Wang Wei")]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="E0129-_x中 ", min_size=1, max_size=6), min_size=1, max_size=6),
       st.text(alphabet="E0129-_x中 <>/+", max_size=60))
def test_scan_finds_ids_as_whole_words_as_the_expression_of_all_ids(ids: list[str], text: str) -> None:
    """The ids found in a text are those found by the regular expression of all of them as whole words (not
    preceded or followed by A-Z, a-z, 0-9), longest first, or more where ids of other characters overlap others
    (then each is found wherever it stands): for ids of letters and digits alone, exactly the same."""
    import re

    from compkit.privacy import _whole_words

    values = sorted({i for i in ids if i}, key=len, reverse=True)
    expression = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(map(re.escape, values)) + r")(?![A-Za-z0-9])")
    found, expected = _whole_words(values)(text), set(expression.findall(text))
    assert expected <= found
    if all(re.fullmatch(r"[A-Za-z0-9]+", v) for v in values):
        assert found == expected
    # a worked example: E00012 stands alone twice; not inside E000123 nor xE00012
    assert _whole_words(["E00012", "S1"])("<td>E00012</td> E000123 xE00012 +E00012/ S1") == {"E00012", "S1"}


def test_scan_finds_supervisors_and_per_person_tables(tmp_path: Path) -> None:
    (tmp_path / "calibration.html").write_text("<td>S0043</td><td>East</td><td>0.728</td>")
    people = pd.DataFrame({"branch": ["Pudong"] * 100, "change": np.linspace(-1, 1, 100)})
    people.to_csv(tmp_path / "candidate_changes_by_person.csv", index=False)  # one row per person, no id
    numbered = pd.DataFrame({"person": np.repeat(np.arange(1, 101), 3), "score": 3.5})
    numbered.to_csv(tmp_path / "calibrated_scores.csv", index=False)  # "person k" = the k-th employee
    pd.DataFrame({"region": ["East", "West"], "n": [60, 40], "mean": [1.25, 2.5]}).to_csv(tmp_path / "ok.csv",
                                                                                         index=False)
    hits = scan_for_identifiers(tmp_path, ["E1"], supervisor_ids=["S0043", "S0044"], head_count=100)
    assert [(h.file, h.kind) for h in hits] == [("calibrated_scores.csv", "per-person table"),
                                                ("calibration.html", "supervisor id"),
                                                ("candidate_changes_by_person.csv", "per-person table")]
    assert "column 'person' has 100 distinct values" in hits[0].value


def test_k_anonymise_worked_example() -> None:

    # 10 people: branch X has 6 (5 rated B, 1 rated A), branch Y has 4 rated B; k = 3
    t = pd.DataFrame({"branch": ["X"] * 6 + ["Y"] * 4, "region": ["R"] * 10, "rating": ["B"] * 5 + ["A"] + ["B"] * 4})
    out, level = k_anonymise(t, [["branch"], ["region"], []], "rating", k=3, max_withheld=0.1)
    # by branch: X/A has 1 < 3, 1 row in 10 = 10% <= 10%: branch kept, that row withheld, and its rating too
    assert level == ["branch"]
    assert out["branch"].tolist() == ["X"] * 5 + [WITHHELD] + ["Y"] * 4
    assert out["rating"].tolist() == ["B"] * 5 + [WITHHELD] + ["B"] * 4
    out, level = k_anonymise(t, [["branch"], ["region"], []], "rating", k=5, max_withheld=0.1)
    # k = 5: Y/B (4) and X/A (1) are small: 50% > 10%, so region: R/B 9, R/A 1 -> 10%, region kept
    assert level == ["region"] and out["rating"].tolist() == ["B"] * 5 + [WITHHELD] + ["B"] * 4


def test_identifier_hits_read_in_both_languages(tmp_path: Path) -> None:
    """What the review's refusal to publish names, in words: 30 rows for 30 people is a per-person table."""
    from compkit import i18n
    from compkit.privacy import IdentifierHit

    pd.DataFrame({"a": range(30)}).to_csv(tmp_path / "x.csv", index=False)
    (tmp_path / "p.html").write_text("<p>E00012</p>", encoding="utf-8")
    hits = scan_for_identifiers(tmp_path, ["E00012"], head_count=30)
    assert [str(h) for h in hits] == ["p.html: employee id E00012", "x.csv: per-person table 30 rows for 30 people"]
    assert [i18n.translate(h.message, "zh-CN") for h in hits] == ["p.html：员工编号 E00012",
                                                                   "x.csv：逐人明细表（30 人共 30 行）"]
    assert [i18n.translate(h.message, "en") for h in hits] == [str(h) for h in hits]
    assert isinstance(hits[0], IdentifierHit)
