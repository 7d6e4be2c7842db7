"""Writing outputs so that a failed run leaves nothing half-done: build in a temporary folder next to the
target, then swap it into place."""
from __future__ import annotations

import os
import shutil
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
