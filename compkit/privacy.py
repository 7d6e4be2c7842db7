"""Confidentiality (保密): pseudonyms, suppression of small groups, and a scan for identifiers.

DESIGN.md §7: reports and published tables carry pseudonyms, never names or raw employee ids; a figure that
describes fewer than 5 people is suppressed; per-employee statements go to a private folder outside reports/.

Pseudonyms are keyed hashes (HMAC-SHA256) of the employee id, so they are stable from one cycle to the next
for the same key, and cannot be reversed or recomputed without the key. The key is never part of the
repository: it comes from the environment variable ``COMPKIT_PSEUDONYM_KEY`` or from a file named by
``COMPKIT_PSEUDONYM_KEY_FILE`` (a file inside a git working tree is refused, so it cannot be committed by
mistake).
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from compkit.errors import CompkitError
from compkit.i18n import M_, N_, Message

#: Smallest group whose figures may be shown (DESIGN.md §7, confidentiality).
MIN_GROUP = 5
KEY_ENV = "COMPKIT_PSEUDONYM_KEY"
KEY_FILE_ENV = "COMPKIT_PSEUDONYM_KEY_FILE"
#: shortest key accepted: 16 bytes, so pseudonyms cannot be recomputed by guessing a short key
MIN_KEY_BYTES = 16
#: the command that makes a good key (shown in the messages)
_NEW_KEY = "python -c \"import secrets; print(secrets.token_hex(32))\""


class PrivacyError(CompkitError):
    """A confidentiality rule would be broken (no key, a key inside the repository, output under reports/)."""


# ------------------------------------------------------------------------------------------ the key


def _inside_git_tree(path: Path) -> Path | None:
    for parent in [path, *path.parents]:
        if (parent / ".git").exists():
            return parent
    return None


def pseudonym_key(environ: dict[str, str] | None = None) -> bytes:
    """The pseudonym key, from ``COMPKIT_PSEUDONYM_KEY`` (the key itself) or ``COMPKIT_PSEUDONYM_KEY_FILE``
    (a file holding it, outside any git working tree). At least 16 bytes. Raises :class:`PrivacyError`
    saying what to set when neither is usable."""
    env = os.environ if environ is None else environ
    if env.get(KEY_ENV):
        key = env[KEY_ENV].encode()
        where = M_("the environment variable {name}", name=KEY_ENV)
    elif env.get(KEY_FILE_ENV):
        path = Path(env[KEY_FILE_ENV]).expanduser().resolve()
        if not path.is_file():
            raise PrivacyError(M_("{name}={path}: no such file; expected a file holding the pseudonym key",
                                  name=KEY_FILE_ENV, path=env[KEY_FILE_ENV]))
        repo = _inside_git_tree(path.parent)
        if repo is not None:
            raise PrivacyError(M_("{name}={path}: the key file is inside the git working tree {repo}; keep it "
                                  "outside any repository so that it is never committed", name=KEY_FILE_ENV,
                                  path=str(path), repo=str(repo)))
        if os.name == "posix" and path.stat().st_mode & 0o077:
            raise PrivacyError(M_("{name}={path}: the key file can be read by other users (mode {mode}); make it "
                                  "private: chmod 600 {path}", name=KEY_FILE_ENV, path=str(path),
                                  mode=f"{path.stat().st_mode & 0o777:o}"))
        key = path.read_bytes().strip()
        where = str(path)
    else:
        raise PrivacyError(M_("no pseudonym key: set {name} to a secret of at least {min} characters, or "
                              "{file_name} to a file outside the repository that holds it (e.g. {command} > "
                              "~/.compkit.key)", name=KEY_ENV, min=MIN_KEY_BYTES, file_name=KEY_FILE_ENV,
                              command=_NEW_KEY))
    if len(key) < MIN_KEY_BYTES:
        raise PrivacyError(M_("the pseudonym key from {where} has {n} bytes; expected at least {min}", where=where,
                              n=len(key), min=MIN_KEY_BYTES))
    weak = weak_key_reason(key)
    if weak:
        raise PrivacyError(M_("the pseudonym key from {where} is too weak ({reason}); use a random secret, e.g. "
                              "{command}", where=where, reason=weak, command=_NEW_KEY))
    return key


#: fewest distinct characters a key may have (16 random hex digits have fewer than 6 with p < 1e-5)
MIN_DISTINCT = 6


def weak_key_reason(key: bytes) -> str | None:
    """Why ``key`` is too weak to key pseudonyms (or the audit log), or None: fewer than 6 distinct characters
    (``aaaaaaaaaaaaaaaa``, ``abababab…``), one character making up more than half of it, or a run of consecutive
    characters (``0123456789abcdef…``, ``abcdefghijklmnop``)."""
    distinct = len(set(key))
    if distinct < MIN_DISTINCT:
        return M_("only {n} distinct character(s); expected at least {min}", n=distinct, min=MIN_DISTINCT)
    top = max(key.count(bytes([b])) for b in set(key))
    if top * 2 > len(key):
        return M_("one character makes up more than half of it")
    steps = {key[i + 1] - key[i] for i in range(len(key) - 1)}
    if steps <= {0, 1} or steps <= {0, -1}:
        return M_("a run of consecutive characters")
    return None


def pseudonyms(employee_ids: Iterable[object], key: bytes, length: int = 10, scope: str = "") -> np.ndarray:
    """``P-`` + the first ``length`` hex digits of HMAC-SHA256(key, employee id), or of HMAC-SHA256(key, scope +
    ``|`` + employee id) with a ``scope`` (the publication uses ``publication <cycle>``, so that the lists of two
    cycles cannot be linked). Same key and scope, same pseudonym; without the key a pseudonym cannot be linked to
    an id. 10 hex digits make a collision among 100,000 people unlikely (p ≈ 5e-3); the publication checks for one
    anyway."""
    prefix = f"{scope}|" if scope else ""
    return np.array([f"P-{hmac.new(key, (prefix + str(e)).encode(), hashlib.sha256).hexdigest()[:length]}"
                     for e in employee_ids], dtype=object)


#: shown in place of a published value withheld to keep every group at least ``min_group`` people
WITHHELD = "—"


def k_anonymise(table: pd.DataFrame, levels: Sequence[Sequence[str]], last: str, k: int = MIN_GROUP,
                max_withheld: float = 0.1) -> tuple[pd.DataFrame, list[str]]:
    """Generalise and suppress ``table`` so that every combination of its published columns is shared by at least
    ``k`` rows (k-anonymity; Sweeney 2002).

    ``levels``: the quasi-identifier columns from the finest to the coarsest (e.g. ``[["branch", "position"],
    ["region", "position"], ["position"], []]``); ``last``: the column always published (the rating). The first
    level at which at most ``max_withheld`` of the rows fall in groups under ``k`` (the last level always
    qualifies) is kept: those rows get their level columns replaced by :data:`WITHHELD`, and rows whose
    (withheld, rating) group is still under ``k`` get their rating withheld too. Returns (the published columns,
    the level chosen)."""
    n = len(table)
    for i, level in enumerate(levels):
        cols = [*level, last]
        out = table[cols].astype(object).copy()
        small = (out.groupby(cols, sort=False)[last].transform("size") < k).to_numpy() if n else np.zeros(0, bool)
        if n and small.mean() > max_withheld and i < len(levels) - 1:
            continue
        if level:
            out.loc[small, list(level)] = WITHHELD
        if n:
            still = (out.groupby(cols, sort=False)[last].transform("size") < k).to_numpy()
            out.loc[still, last] = WITHHELD
        return out, list(level)
    raise ValueError("no levels given")  # pragma: no cover


# -------------------------------------------------------------------------------------- suppression


def suppress(
    table: pd.DataFrame,
    count_col: str = "n",
    min_n: int = MIN_GROUP,
    columns: Sequence[str] | None = None,
    keep: Sequence[str] = (),
) -> pd.DataFrame:
    """Blank the figures of groups with fewer than ``min_n`` people (confidentiality, DESIGN.md §7).

    A row is suppressed when ``table[count_col] < min_n``; its figures become NaN and a boolean column
    ``suppressed`` is added (or OR-ed with an existing one). ``columns`` are the figures to blank; by
    default every numeric, non-boolean column except ``count_col`` and ``keep``. The head-count itself
    stays visible. Integer columns that get blanked become float. Returns a new table.
    """
    missing = [c for c in [count_col, *(columns or [])] if c not in table.columns]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        raise ValueError(f"column {names} not found in the data; columns present: {[str(c) for c in table.columns]}")
    out = table.copy()
    small = (out[count_col] < min_n).to_numpy()
    if columns is None:
        columns = [
            c for c in out.columns
            if c != count_col and c not in keep and c != "suppressed"
            and pd.api.types.is_numeric_dtype(out[c].dtype)
            and not pd.api.types.is_bool_dtype(out[c].dtype)
        ]
    for c in columns:
        out[c] = out[c].where(~small)
    prior = out["suppressed"].to_numpy(dtype=bool) if "suppressed" in out.columns else False
    out["suppressed"] = small | prior
    return out


def suppress_small_cells(counts: pd.DataFrame, min_cell: int) -> np.ndarray:
    """Which cells of a frequency table (groups x categories, head-counts) to withhold: small-cell suppression
    with complementary suppression, the statistical offices' rule for published frequency tables.

    A cell is *small* when ``0 < count < min_cell``: publishing it says that one or two named colleagues in the
    group hold that category (e.g. the one 不称职 of a sub-branch). Where a row has exactly one small cell, the
    next smallest non-zero cell is withheld too, because the row's head-count minus the other cells would give it
    back. Zero cells are shown (nobody holds the category). Returns a boolean array of ``counts.shape``.
    """
    values = counts.to_numpy(dtype=np.int64)
    small = (values > 0) & (values < min_cell)
    lone = small.sum(axis=1) == 1
    # complementary cell: the smallest non-zero count that is not already withheld, in rows with one small cell
    candidates = np.where((values > 0) & ~small, values, np.iinfo(np.int64).max)
    second = candidates.argmin(axis=1)
    has_second = candidates[np.arange(len(values)), second] < np.iinfo(np.int64).max
    rows = np.flatnonzero(lone & has_second)
    small[rows, second[rows]] = True
    return small


# ------------------------------------------------------------------------------ scan for identifiers


@dataclass(frozen=True)
class IdentifierHit:
    file: str
    kind: str        # "employee id", "name", "supervisor id" or "per-person table"
    value: str

    def __str__(self) -> str:
        return f"{self.file}: {self.kind} {self.value}"

    @property
    def message(self) -> Message:
        """The hit as a message in the reader's language (English: ``str(hit)``)."""
        return M_(_HIT_WORDS.get(self.kind, "{file}: {kind} {value}"), file=self.file, kind=self.kind,
                  value=self.value)


#: a hit in words, by its kind (the English text is the hit's ``str``)
_HIT_WORDS = {"employee id": N_("{file}: employee id {value}"), "supervisor id": N_("{file}: supervisor id {value}"),
              "name": N_("{file}: name {value}"), "per-person table": N_("{file}: per-person table {value}")}


_TEXT_SUFFIXES = {".html", ".htm", ".csv", ".json", ".md", ".txt", ".ipynb", ".yaml", ".yml", ".jsonl"}
#: a table is per person when its rows, or the distinct values of one of its columns, number between these
#: shares of the head-count (a table by branch, grade or region has far fewer)
PER_PERSON_BAND = (0.8, 1.25)
#: below this head-count the per-person test is not made (any table of a tiny population is near its size)
PER_PERSON_MIN_HEADCOUNT = 20


def _per_person(path: Path, head_count: int) -> str | None:
    """Why the CSV at ``path`` looks like one row per person (or numbers people in a column), or None."""
    lo, hi = PER_PERSON_BAND[0] * head_count, PER_PERSON_BAND[1] * head_count
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, OSError, UnicodeDecodeError):
        return None
    if lo <= len(table) <= hi:
        return M_("{rows} rows for {people} people", rows=len(table), people=head_count)
    for col in table.columns:
        values = table[col]
        if values.str.contains(r"\d\.\d", regex=True).any():  # measurements, not identifiers
            continue
        distinct = values.nunique()
        if lo <= distinct <= hi:
            return M_("column {column} has {n} distinct values for {people} people", column=repr(col), n=distinct,
                      people=head_count)
    return None


#: a run of the characters that may not stand next to an id for it to count as a word: an id of these
#: characters alone occurs as a word exactly when it is such a whole run
_WORD_CHARS = re.compile(r"[A-Za-z0-9]+")


def _whole_words(values: list[str]) -> Callable[[str], set[str]] | None:
    """A function giving the ``values`` that occur in a text as whole words: not preceded or followed by A-Z, a-z
    or 0-9 (``E00012`` not inside ``E000123``). Values of those characters alone (employee ids such as
    ``E00012``) are looked up among the text's runs of them (a set of 100,000 ids: one pass over the text, instead
    of a regular expression of 100,000 alternatives, about 1.5 s to compile); any others by such an expression,
    longest first. None without values."""
    if not values:
        return None
    plain = frozenset(v for v in values if _WORD_CHARS.fullmatch(v))
    others = [v for v in values if v not in plain]
    pattern = (re.compile(r"(?<![A-Za-z0-9])(" + "|".join(map(re.escape, others)) + r")(?![A-Za-z0-9])")
               if others else None)

    def found(text: str) -> set[str]:
        out = set(plain.intersection(_WORD_CHARS.findall(text))) if plain else set()
        if pattern is not None:
            out.update(pattern.findall(text))
        return out

    return found


def scan_for_identifiers(folder: str | Path, employee_ids: Iterable[object], names: Iterable[object] = (),
                         suffixes: Iterable[str] = tuple(_TEXT_SUFFIXES), supervisor_ids: Iterable[object] = (),
                         head_count: int | None = None) -> list[IdentifierHit]:
    """Every occurrence of a raw employee id, a supervisor id or a name in the text files under ``folder``
    (recursively), and (with ``head_count``) every CSV file that holds a row per person.

    An id matches as a whole word (``E00012`` does not match inside ``E000123``); a name matches as written.
    Names shorter than 4 characters are skipped (they would match ordinary words). A CSV is per person when its
    row count, or the number of distinct values of a column that is not a measurement, lies within 80% to 125% of
    ``head_count`` (not tested below 20 people). Used by ``compkit review`` before it publishes a report, by the
    tests on the published tables, and available to analysts before they share a folder."""
    ids = sorted({str(e) for e in employee_ids if str(e)}, key=len, reverse=True)
    sup = sorted({str(e) for e in supervisor_ids if str(e) and str(e) != "nan"} - set(ids), key=len, reverse=True)
    name_list = sorted({str(n) for n in names if isinstance(n, str) and len(n) >= 4}, key=len, reverse=True)
    hits: list[IdentifierHit] = []

    id_in, sup_in = _whole_words(ids), _whole_words(sup)
    name_re = re.compile("|".join(map(re.escape, name_list))) if name_list else None
    allowed = {s.lower() for s in suffixes}
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file() or path.suffix.lower() not in allowed:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        rel = str(path.relative_to(folder))
        if id_in is not None:
            hits += [IdentifierHit(rel, "employee id", v) for v in sorted(id_in(text))]
        if sup_in is not None:
            hits += [IdentifierHit(rel, "supervisor id", v) for v in sorted(sup_in(text))]
        if name_re is not None:
            hits += [IdentifierHit(rel, "name", v) for v in sorted(set(name_re.findall(text)))]
        if head_count is not None and head_count >= PER_PERSON_MIN_HEADCOUNT and path.suffix.lower() == ".csv":
            why = _per_person(path, head_count)
            if why:
                hits.append(IdentifierHit(rel, "per-person table", why))
    return hits


#: what refuse_reports_folder's callers write (translated with its message)
PRIVATE_OUTPUTS = (N_("per-person review tables"), N_("appeal results"), N_("personal targets"), N_("statements"),
                   N_("published results with names"), N_("delivery logs"))


def refuse_reports_folder(out: str | Path, what: str) -> Path:
    """Per-employee output must not go under a ``reports`` folder (reports are shared; statements are not)."""
    path = Path(out).expanduser().resolve()
    if any(part.casefold() == "reports" for part in path.parts):  # Reports/, REPORTS/ too (case-insensitive disks)
        raise PrivacyError(M_("{out}: {what} hold personal pay and go to a private folder, never under reports/ "
                              "(e.g. --out private/statements)", out=str(out), what=M_(what)))
    return path
