"""Writing outputs safely: compkit replaces or deletes only what it wrote, and a failed run leaves nothing
half-done.

Every folder compkit writes (a review report, statements, published tables, an evaluate CSV folder, an appeals
folder, a sample) carries a marker file ``.compkit-output`` (JSON: the command, the time, the compkit version and
the files written with their sha256). :func:`check_output` is the one guard every writing command calls before it
does any work; it refuses, with one line, an output that

* is, contains or lies inside one of the command's inputs (the data folder or workbook, the policy or candidate
  file, the appeals register) or its other output (``--publish``);
* is an existing file where a folder is expected (or a folder where a file is expected);
* is a non-empty folder without the marker, or with the marker of another command (a statements folder is never
  replaced by a review);
* is an existing workbook that compkit did not write.

Work is done in a temporary folder next to the target, named for what it is
(``.compkit-tmp-<what>-<pid>-XXXX``) and moved into place only when complete (:func:`replace_folder`: the old
folder stays whole until the new one is in place). A temporary folder is removed when the run fails; one left by a
killed run (its process is gone) is swept by the next run that writes next to it.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from compkit.errors import CompkitError
from compkit.fingerprint import file_sha256
from compkit.i18n import M_, N_

#: the marker file in every folder compkit writes
MARKER = ".compkit-output"
#: prefix of compkit's temporary folders (staging and folders moved aside)
TMP_PREFIX = ".compkit-tmp-"
#: what ``check_output``'s ``inputs`` labels read as (translated with the message)
INPUT_LABELS = (N_("data"), N_("data folder"), N_("policy file"), N_("candidate file"), N_("appeals register"),
                N_("unit targets file"), N_("--out folder"), N_("--private folder"), N_("--publish folder"))
#: the relation of an output to an input, as a whole sentence each
_RELATION = {
    "is": N_("{flag} {out} is the {label} {path}; choose another place: compkit never writes over its inputs or "
             "its other outputs"),
    "contains": N_("{flag} {out} contains the {label} {path}; choose another place: compkit never writes over its "
                   "inputs or its other outputs"),
    "lies inside": N_("{flag} {out} lies inside the {label} {path}; choose another place: compkit never writes over "
                      "its inputs or its other outputs"),
}
#: the workbook property compkit sets on every .xlsx it writes (so it may replace it later)
WORKBOOK_CREATOR = "compkit"


class OutputError(CompkitError):
    """An output path compkit refuses to write (it would replace or delete something compkit did not write)."""


def resolve(path: str | Path) -> Path:
    return Path(path).expanduser().resolve()


# ----------------------------------------------------------------------------------------------- marker


def read_marker(folder: Path) -> dict | None:
    """The marker of ``folder`` (a dict), or None when there is none or it is not compkit's JSON."""
    path = Path(folder) / MARKER
    if not path.is_file():
        return None
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) and "command" in marker else None


def write_marker(folder: Path, command: str, manifest: bool = True, known: Mapping[str, str] | None = None) -> Path:
    """Write ``folder/.compkit-output``: command, UTC time, compkit version and (``manifest``) every file under the
    folder with its sha256. ``known``: the sha256 of files the caller wrote and hashed from the bytes it wrote
    (path relative to the folder -> hex digest; the statements' workers hash each page as they write it), so that
    they are not read back; every other file is read and hashed here."""
    from compkit import __version__

    folder = Path(folder)
    record: dict = {"command": command, "time": datetime.now(UTC).isoformat(timespec="seconds"),
                    "compkit_version": __version__}
    if manifest:
        files = {}
        for name in _files_under(folder):
            files[name] = known[name] if known and name in known else file_sha256(folder / name)
        record["files"] = files
    path = folder / MARKER
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _files_under(folder: Path) -> list[str]:
    """Every file under ``folder`` but the marker, as paths relative to it, in the order of the sorted paths. A
    folder of plain files only (the statements: 100,000 pages) is listed in one ``scandir`` (1.76 -> 0.08 s of
    CPU at 100,000 files); any other by ``rglob``, each entry checked with ``is_file``."""
    with os.scandir(folder) as entries:
        flat = [(e.name, e.is_file(follow_symlinks=False)) for e in entries]
    if all(plain for _, plain in flat):
        return sorted(name for name, _ in flat if name != MARKER)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MARKER)
    return [str(f.relative_to(folder)) for f in files]


def workbook_written_by_compkit(path: Path) -> bool:
    try:
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True)
        try:
            return wb.properties.creator == WORKBOOK_CREATOR
        finally:
            wb.close()
    except Exception:  # not a workbook at all
        return False


# ------------------------------------------------------------------------------------------------ guard


def _relation(out: Path, other: Path) -> str | None:
    if out == other:
        return "is"
    if out in other.parents:
        return "contains"
    if other in out.parents:
        return "lies inside"
    return None


def table_file_written_by_compkit(path: Path, columns: tuple[str, ...]) -> bool:
    """Whether the CSV at ``path`` is a table of exactly ``columns`` (its first line is their header), i.e. the kind
    of file the command writes; any other file (a data table, notes, a workbook) is not compkit's to replace."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return handle.readline().rstrip("\r\n") == ",".join(columns)
    except (OSError, UnicodeDecodeError):
        return False


def check_output(out: str | Path, command: str, inputs: Mapping[str, str | Path | None] | None = None,
                 kind: str = "folder", flag: str = "--out", columns: tuple[str, ...] = ()) -> Path:
    """The one guard of every writing command: return the resolved ``out`` or raise :class:`OutputError` (one line).

    ``inputs``: what the command reads or also writes, by label (``{"data folder": ..., "policy file": ...}``);
    ``out`` may not be, contain or lie inside any of them. ``kind``: ``"folder"`` (replaced as a whole: it must
    be absent, empty, or carry the marker of the same ``command``), ``"file"`` (a workbook: absent, or a workbook
    compkit wrote), ``"table file"`` (a CSV table of ``columns``: absent, or a CSV with exactly that header, e.g. a
    targets file written before) or ``"log folder"`` (a folder compkit adds to, e.g. the appeals folder: absent,
    empty or marked by the same command).
    """
    target = resolve(out)
    for label, path in (inputs or {}).items():
        if path is None:
            continue
        rel = _relation(target, resolve(path))
        if rel is not None:
            raise OutputError(M_(_RELATION[rel], flag=flag, out=str(out), label=M_(label), path=str(path)))
    if kind == "file":
        if target.is_dir():
            raise OutputError(M_("{flag} {out} is a folder; expected a workbook file name ending in .xlsx", flag=flag,
                                 out=str(out)))
        if target.exists() and not workbook_written_by_compkit(target):
            raise OutputError(M_("{flag} {out}: a file compkit did not write is already there; compkit replaces only "
                                 "its own workbooks (move the file or choose another name)", flag=flag, out=str(out)))
        return target
    if kind == "table file":
        if target.is_dir():
            raise OutputError(M_("{flag} {out} is a folder; expected a file name ending in .csv", flag=flag,
                                 out=str(out)))
        if target.suffix.lower() != ".csv":
            raise OutputError(M_("{flag} {out}: expected a file name ending in .csv", flag=flag, out=str(out)))
        if target.exists() and not table_file_written_by_compkit(target, columns):
            raise OutputError(M_("{flag} {out}: a file that is not a {command} table ({columns}) is already there; "
                                 "compkit replaces only files it wrote (move the file or choose another name)",
                                 flag=flag, out=str(out), command=command, columns=", ".join(columns)))
        return target
    if target.exists() and not target.is_dir():
        raise OutputError(M_("{flag} {out} is an existing file; expected a folder (compkit does not replace files "
                             "it did not write)", flag=flag, out=str(out)))
    if target.is_dir() and any(target.iterdir()):
        marker = read_marker(target)
        if marker is None:
            raise OutputError(M_("{flag} {out} is a folder holding files compkit did not write (it has no {marker}); "
                                 "compkit replaces only folders it created: choose a new or empty folder", flag=flag,
                                 out=str(out), marker=MARKER))
        if marker.get("command") != command:
            raise OutputError(M_("{flag} {out} holds the output of 'compkit {other}', not of 'compkit {command}'; "
                                 "choose another folder", flag=flag, out=str(out), other=marker.get("command"),
                                 command=command))
    return target


# ------------------------------------------------------------------------------------- temporary folders


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_TMP_RE = re.compile(re.escape(TMP_PREFIX) + r".*?-(\d+)-[^-]*$")


def sweep_temporaries(parent: str | Path) -> list[Path]:
    """Remove compkit's temporary folders in ``parent`` left by runs whose process is gone (a killed run).
    Returns what was removed. Folders of running processes are left alone."""
    removed = []
    parent = Path(parent)
    if not parent.is_dir():
        return removed
    for path in parent.glob(TMP_PREFIX + "*"):
        m = _TMP_RE.match(path.name)
        if m is None or _pid_alive(int(m.group(1))):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _short(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)[:40]


def staging_folder(target: Path, what: str) -> Path:
    """A fresh temporary folder next to ``target`` named ``.compkit-tmp-<what>-<pid>-XXXX`` (same file system, so
    the finished folder can be renamed into place). Sweeps temporaries of dead runs first."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_temporaries(target.parent)
    return Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{_short(what)}-{os.getpid()}-", dir=target.parent))


def temporary_file(target: Path, suffix: str = "") -> Path:
    """A temporary file name next to ``target`` (``.compkit-tmp-file-<pid>-XXXX<suffix>``); swept like folders."""
    target = Path(target)
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}file-{os.getpid()}-", suffix=suffix, dir=target.parent)
    os.close(fd)
    return Path(tmp)


def replace_folder(staging: Path, target: Path, command: str | None = None,
                   known: Mapping[str, str] | None = None) -> None:
    """Move the fully written folder ``staging`` to ``target`` (same file system). With ``command``, the marker
    (with the manifest of files; ``known``: hashes the caller already has, :func:`write_marker`) is written into
    ``staging`` first. A previous ``target`` is renamed aside first
    and removed only after the new one is in place, so at every moment either the old or the new folder is
    complete. A previous ``target`` that is not empty must carry compkit's marker (checked again here, so no
    caller can replace a folder compkit did not write)."""
    staging, target = Path(staging), Path(target)
    if command is not None:
        write_marker(staging, command, known=known)
    if target.exists() and (not target.is_dir() or (any(target.iterdir()) and read_marker(target) is None)):
        raise OutputError(M_("{target}: not a folder compkit wrote; refusing to replace it", target=str(target)))
    _swap(staging, target)


def remove_quietly(path: Path | None) -> None:
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)


def carry_over(target: Path, staging: Path) -> None:
    """Put the files of an existing folder ``target`` that ``staging`` does not have into ``staging`` (hard links,
    or copies where links are impossible), so swapping ``staging`` in replaces only what was written."""
    if not target.is_dir():
        return
    for f in target.iterdir():
        dest = staging / f.name
        if dest.exists() or dest.is_symlink():
            continue
        if f.is_dir() and not f.is_symlink():
            shutil.copytree(f, dest, symlinks=True)
        else:
            try:
                os.link(f, dest, follow_symlinks=False)
            except OSError:
                shutil.copy2(f, dest, follow_symlinks=False)


@contextmanager
def staged_folder(target: str | Path, keep_others: bool = False, what: str | None = None) -> Iterator[Path]:
    """Write a folder all or nothing: yields a temporary folder beside ``target`` (:func:`staging_folder`, named
    for ``what``, by default the target's name) to write into; when the block ends without error it replaces
    ``target`` (the old folder is renamed aside first and removed once the new one is in place); on an error the
    temporary folder is removed and ``target`` is untouched. ``keep_others``: files of an existing ``target`` that
    the block did not write are carried over (:func:`carry_over`), so the swap replaces only what was written and
    deletes nothing else. The caller has checked ``target`` (:func:`check_output`)."""
    target = Path(target)
    staging = staging_folder(target, what or target.name)
    try:
        yield staging
        if keep_others:
            carry_over(target, staging)
        _swap(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_file(path: str | Path, write: Callable[[Path], object], suffix: str = "", durable: bool = False) -> Path:
    """Write one file all or nothing: ``write(temporary path)`` beside ``path``, then an atomic rename onto it;
    on an error the temporary file is removed and ``path`` is untouched. ``durable``: the file's bytes are forced
    to the disk (fsync) before the rename, so a crash leaves the old or the new file, never an empty one (the
    appeals' audit log)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_file(path, suffix=suffix or path.suffix)  # named so a killed run's file is swept later
    try:
        write(tmp)
        if durable:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _swap(staging: Path, target: Path) -> None:
    """Rename ``target`` aside, ``staging`` into place, then remove the old one; if the second rename fails the
    old folder is put back, so at every moment either the old or the new folder is complete (no marker check:
    callers check first)."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}old-{_short(target.name)}-{os.getpid()}-",
                                    dir=target.parent))
        os.rmdir(old)
        os.replace(target, old)
    try:
        os.replace(staging, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)  # put the previous output back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
