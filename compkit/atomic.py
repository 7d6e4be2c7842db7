"""Writing outputs so that a failed run leaves nothing half-done: build in a temporary folder next to the
target, then swap it into place."""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def replace_folder(staging: Path, target: Path) -> None:
    """Move the fully written folder ``staging`` to ``target`` (same file system). A previous ``target`` is
    renamed aside first and removed only after the new one is in place, so at every moment either the old or
    the new folder is complete."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}-old-{os.getpid()}")
        os.replace(target, old)
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def staged_folder(target: str | Path, keep_others: bool = False) -> Iterator[Path]:
    """Write a folder all or nothing: yields a temporary folder beside ``target`` to write into; when the block
    ends without error it replaces ``target`` (:func:`replace_folder`); on an error it is removed and ``target``
    is untouched. ``keep_others``: files of an existing ``target`` that the block did not write are carried
    over (hard links, or copies), so the swap replaces only what was written and deletes nothing else."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        yield staging
        if keep_others and target.is_dir():
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
        replace_folder(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_file(path: str | Path, write: Callable[[Path], object], suffix: str = "") -> Path:
    """Write one file all or nothing: ``write(temporary path)`` beside ``path``, then an atomic rename onto it;
    on an error the temporary file is removed and ``path`` is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=suffix or path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
