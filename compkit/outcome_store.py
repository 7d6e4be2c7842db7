"""Outcomes kept for the notebooks of one review: each policy evaluated once, read back by every notebook.

``compkit review`` evaluates the policy under review and the candidate once, in its own process, on the data it has
just validated, and writes each :class:`compkit.engine.Outcomes` into a private temporary folder (never under
``reports/``: the tables are per person) that it removes when the notebooks have run. A notebook given that folder
(its ``outcomes_dir`` parameter) calls :func:`evaluated` instead of ``evaluate``: it gets the kept outcomes when
they are those of the same policy (fingerprint) on the same validated data (the sha256 of the data copy's
manifest, which lists the sha256 of every table), and evaluates as before otherwise, or when no folder is given
(a notebook run on its own).

Format: per policy a folder ``<policy fingerprint>/`` with one pickle per table (an exact round trip of every
column's dtype and value, which Parquet is not for object columns) and ``kept.json`` written last (the policy's
fingerprint, the data key, and the sha256 of every file). Tables are read when first used (and their sha256
checked then), so a notebook holds in memory only the tables it reads. Pickles are read only from the folder the
review created for them (a private temporary folder, mode 0700) and only when the manifest matches.
"""
from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Collection
from pathlib import Path
from typing import Any

from compkit.data import VALIDATED, Dataset
from compkit.engine import Outcomes, evaluate
from compkit.errors import CompkitError
from compkit.fingerprint import dump_pickle, file_sha256
from compkit.policy import Policy

#: the manifest of one policy's kept outcomes, written last
MANIFEST = "kept.json"

#: costs of further policies the review worked out (:func:`keep_costs`)
COSTS = "costs.json"

#: the format of a result's manifest (:func:`keep_result`)
RESULT_FORMAT = 1


def data_key(data_path: str | Path) -> str | None:
    """The key of a validated data copy (:meth:`compkit.data.Dataset.to_private_copy`, or
    :meth:`~compkit.data.Dataset.to_parquet` with a policy): the sha256 of its manifest, which holds the sha256 of
    every table; None for any other folder (nothing is kept for it)."""
    manifest = Path(data_path) / VALIDATED
    return file_sha256(manifest) if manifest.is_file() else None


class KeptOutcomes(Outcomes):
    """Outcomes whose tables are read from the kept folder when first used (then held like any other)."""

    def __init__(self, folder: Path, tables: dict[str, dict[str, str]], info: dict[str, Any]) -> None:
        self.__dict__["_folder"] = folder
        self.__dict__["_files"] = tables
        self.info = info

    def __getattr__(self, name: str) -> Any:
        files = self.__dict__.get("_files", {})
        if name not in files:
            raise AttributeError(name)
        path = self.__dict__["_folder"] / files[name]["file"]
        raw = path.read_bytes()
        if hashlib.sha256(raw).hexdigest() != files[name]["sha256"]:
            raise CompkitError(f"{path}: the kept outcomes changed after the review wrote them; run the review "
                               "again")
        table = pickle.loads(raw)
        del raw
        self.__dict__[name] = table
        return table


def forget(outcomes: Outcomes, *names: str) -> None:
    """Let go of tables of kept outcomes (:class:`KeptOutcomes`) that were read and are not needed any more (their
    memory goes back to the process for what follows); a table used again is read again from the kept folder
    (and checked again). Outcomes evaluated here (not kept) keep their tables: nothing could read them again."""
    if isinstance(outcomes, KeptOutcomes):
        for name in names:
            if name in outcomes.__dict__["_files"]:
                outcomes.__dict__.pop(name, None)


def _folder(root: Path, policy: Policy) -> Path:
    return root / policy.fingerprint()[:32]


def _tables(tables: Collection[str] | None) -> list[str]:
    """The names of :attr:`compkit.engine.Outcomes.TABLES` in ``tables`` (all of them for None), in that order."""
    return list(Outcomes.TABLES) if tables is None else [name for name in Outcomes.TABLES if name in set(tables)]


def keep(outcomes: Outcomes, root: str | Path, policy: Policy, key: str,
         tables: Collection[str] | None = None) -> Path:
    """Write ``outcomes`` (of ``policy`` on the data whose :func:`data_key` is ``key``) under ``root``; returns
    the policy's folder. ``tables``: only these tables (``outcomes`` of ``evaluate(..., tables=tables)``); default
    all. The manifest is written last: a folder without it is never read."""
    folder = _folder(Path(root), policy)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)
    files = {}
    for name in _tables(tables):
        target = folder / f"{name}.pickle"
        files[name] = {"file": target.name, "sha256": dump_pickle(getattr(outcomes, name), target)}
    info = pickle.dumps(outcomes.info, protocol=5)
    (folder / "info.pickle").write_bytes(info)
    manifest = {"format": 1, "policy": policy.fingerprint(), "data": key, "tables": files,
                "info": file_sha256(folder / "info.pickle")}
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def kept(root: str | Path, policy: Policy, key: str | None,
         tables: Collection[str] | None = None) -> KeptOutcomes | None:
    """The outcomes kept under ``root`` for ``policy`` on the data of ``key``; None unless the manifest names the
    same policy and data, holds every table of ``tables`` (default: all the tables of an evaluation) and every file
    is the one written (sha256). Kept outcomes of some tables only have no others (AttributeError)."""
    if key is None:
        return None
    folder = _folder(Path(root), policy)
    try:
        m = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if m.get("format") != 1 or m.get("policy") != policy.fingerprint() or m.get("data") != key:
        return None
    held = set(m.get("tables", {}))
    if not held <= set(Outcomes.TABLES) or not set(_tables(tables)) <= held:
        return None
    try:
        raw = (folder / "info.pickle").read_bytes()
        if hashlib.sha256(raw).hexdigest() != m["info"] or not all(
                (folder / t["file"]).is_file() for t in m["tables"].values()):
            return None
    except OSError:
        return None
    return KeptOutcomes(folder, m["tables"], pickle.loads(raw))


def evaluated(policy: Policy, data: Dataset, outcomes_dir: str | Path | None = None,
              data_path: str | Path | None = None, tables: Collection[str] | None = None) -> Outcomes:
    """``evaluate(policy, data, tables=tables)``, or the outcomes the review kept for it in ``outcomes_dir`` when
    they are of the same policy on the same validated data (``data_path``, the folder ``data`` was loaded from)
    and hold the ``tables`` asked for (default all): see the module docstring. Without ``outcomes_dir`` (a
    notebook run on its own) it is ``evaluate``."""
    if outcomes_dir is not None and data_path is not None:
        found = kept(outcomes_dir, policy, data_key(data_path), tables)
        if found is not None:
            return found
    return evaluate(policy, data, tables=tables)


def keep_costs(root: str | Path, costs: dict[str, float], key: str | None) -> None:
    """Keep the total employer costs of further policies (``{policy fingerprint: cost}``, CNY) worked out by the
    review on the data whose :func:`data_key` is ``key`` (the ends of the calibration notebook's budget bracket,
    :func:`compkit.calibration.bracket_policies`), with those already kept. Plain JSON (a float's repr reads back
    as the same float), written whole under a temporary name and then renamed."""
    if key is None:
        return
    root = Path(root)
    merged = {**_costs(root, key), **{str(k): float(v) for k, v in costs.items()}}
    tmp = root / (COSTS + ".tmp")
    tmp.write_text(json.dumps({"format": 1, "data": key, "costs": merged}), encoding="utf-8")
    tmp.replace(root / COSTS)


def kept_costs(root: str | Path | None, data_path: str | Path | None) -> dict[str, float]:
    """The costs :func:`keep_costs` kept under ``root`` for the validated copy at ``data_path`` (the folder the
    notebook's data were loaded from); empty without a folder, for other data, or when none were kept (a notebook
    run on its own then evaluates them)."""
    if root is None or data_path is None:
        return {}
    return _costs(Path(root), data_key(data_path))


def _costs(root: Path, key: str | None) -> dict[str, float]:
    try:
        m = json.loads((root / COSTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if key is None or not isinstance(m, dict) or m.get("format") != 1 or m.get("data") != key:
        return {}
    return {str(k): float(v) for k, v in m.get("costs", {}).items()}


def _result_paths(root: Path, name: str, policy: Policy) -> tuple[Path, Path]:
    stem = f"{name}-{policy.fingerprint()[:32]}"
    return root / f"{stem}.pickle", root / f"{stem}.json"


def keep_result(root: str | Path, name: str, policy: Policy, key: str | None, value: Any) -> None:
    """Keep ``value``, the result named ``name`` of an analysis of ``policy`` on the data whose :func:`data_key`
    is ``key`` that the review worked out for a notebook (e.g. ``"appeals"``: the policy review's appeals, without
    their corrected data and evaluations), pickled beside the outcomes; its manifest (the policy's fingerprint, the
    data key, the pickle's sha256) is written last."""
    if key is None:
        return
    pickle_path, manifest = _result_paths(Path(root), name, policy)
    manifest.unlink(missing_ok=True)
    digest = dump_pickle(value, pickle_path)
    manifest.write_text(json.dumps({"format": RESULT_FORMAT, "policy": policy.fingerprint(), "data": key,
                                    "sha256": digest}), encoding="utf-8")


def kept_result(root: str | Path | None, name: str, policy: Policy, data_path: str | Path | None) -> Any | None:
    """The result :func:`keep_result` kept under ``root`` as ``name`` for ``policy`` on the validated copy at
    ``data_path``; None without a folder, for another policy or other data, or when none was kept (the notebook
    then works it out itself)."""
    if root is None or data_path is None:
        return None
    key = data_key(data_path)
    pickle_path, manifest = _result_paths(Path(root), name, policy)
    try:
        m = json.loads(manifest.read_text(encoding="utf-8"))
        raw = pickle_path.read_bytes()
    except (OSError, ValueError):
        return None
    if key is None or not isinstance(m, dict) or m.get("format") != RESULT_FORMAT or \
            m.get("policy") != policy.fingerprint() or m.get("data") != key:
        return None
    if hashlib.sha256(raw).hexdigest() != m.get("sha256"):
        raise CompkitError(f"{pickle_path}: the kept result changed after the review wrote it; run the review again")
    return pickle.loads(raw)
