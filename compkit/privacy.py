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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from compkit.errors import CompkitError

#: Smallest group whose figures may be shown (DESIGN.md §7, confidentiality).
MIN_GROUP = 5
KEY_ENV = "COMPKIT_PSEUDONYM_KEY"
KEY_FILE_ENV = "COMPKIT_PSEUDONYM_KEY_FILE"
#: shortest key accepted: 16 bytes, so pseudonyms cannot be recomputed by guessing a short key
MIN_KEY_BYTES = 16


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
        where = f"the environment variable {KEY_ENV}"
    elif env.get(KEY_FILE_ENV):
        path = Path(env[KEY_FILE_ENV]).expanduser().resolve()
        if not path.is_file():
            raise PrivacyError(f"{KEY_FILE_ENV}={env[KEY_FILE_ENV]}: no such file; expected a file holding the "
                               "pseudonym key")
        repo = _inside_git_tree(path.parent)
        if repo is not None:
            raise PrivacyError(f"{KEY_FILE_ENV}={path}: the key file is inside the git working tree {repo}; "
                               "keep it outside any repository so that it is never committed")
        key = path.read_bytes().strip()
        where = str(path)
    else:
        raise PrivacyError(f"no pseudonym key: set {KEY_ENV} to a secret of at least {MIN_KEY_BYTES} characters, "
                           f"or {KEY_FILE_ENV} to a file outside the repository that holds it "
                           "(e.g. python -c \"import secrets; print(secrets.token_hex(32))\" > ~/.compkit.key)")
    if len(key) < MIN_KEY_BYTES:
        raise PrivacyError(f"the pseudonym key from {where} has {len(key)} bytes; expected at least "
                           f"{MIN_KEY_BYTES}")
    return key


def pseudonyms(employee_ids: Iterable[object], key: bytes, length: int = 10) -> np.ndarray:
    """``P-`` + the first ``length`` hex digits of HMAC-SHA256(key, employee id). Same key, same pseudonym;
    without the key a pseudonym cannot be linked to an id. 10 hex digits make a collision among 100,000
    people unlikely (p ≈ 5e-3); :func:`publish_table` checks for one anyway."""
    return np.array([f"P-{hmac.new(key, str(e).encode(), hashlib.sha256).hexdigest()[:length]}"
                     for e in employee_ids], dtype=object)


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


# ------------------------------------------------------------------------------ scan for identifiers


@dataclass(frozen=True)
class IdentifierHit:
    file: str
    kind: str        # "employee id" or "name"
    value: str


_TEXT_SUFFIXES = {".html", ".htm", ".csv", ".json", ".md", ".txt", ".ipynb", ".yaml", ".yml", ".jsonl"}


def scan_for_identifiers(folder: str | Path, employee_ids: Iterable[object], names: Iterable[object] = (),
                         suffixes: Iterable[str] = tuple(_TEXT_SUFFIXES)) -> list[IdentifierHit]:
    """Every occurrence of a raw employee id or a name in the text files under ``folder`` (recursively).

    An id matches as a whole word (``E00012`` does not match inside ``E000123``); a name matches as written.
    Names shorter than 4 characters are skipped (they would match ordinary words). Used by the tests on the
    generated reports and published tables, and available to analysts before they share a folder."""
    ids = sorted({str(e) for e in employee_ids if str(e)}, key=len, reverse=True)
    name_list = sorted({str(n) for n in names if isinstance(n, str) and len(n) >= 4}, key=len, reverse=True)
    hits: list[IdentifierHit] = []
    if not ids and not name_list:
        return hits
    id_re = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(map(re.escape, ids)) + r")(?![A-Za-z0-9])") if ids else None
    name_re = re.compile("|".join(map(re.escape, name_list))) if name_list else None
    allowed = {s.lower() for s in suffixes}
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file() or path.suffix.lower() not in allowed:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        rel = str(path.relative_to(folder))
        if id_re is not None:
            hits += [IdentifierHit(rel, "employee id", v) for v in sorted(set(id_re.findall(text)))]
        if name_re is not None:
            hits += [IdentifierHit(rel, "name", v) for v in sorted(set(name_re.findall(text)))]
    return hits


def refuse_reports_folder(out: str | Path, what: str) -> Path:
    """Per-employee output must not go under a ``reports`` folder (reports are shared; statements are not)."""
    path = Path(out).resolve()
    if "reports" in path.parts:
        raise PrivacyError(f"{out}: {what} hold personal pay and go to a private folder, never under reports/ "
                           "(e.g. --out private/statements)")
    return path
