"""Input fingerprints: one sha256 helper for bytes, files and folders of files (reports and audit logs record
them so a result can be traced back to exactly the inputs it came from). Hex digests, 64 characters."""
from __future__ import annotations

import hashlib
from pathlib import Path


def bytes_sha256(data: bytes) -> str:
    """sha256 of ``data`` as 64 hex characters."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def path_sha256(path: str | Path) -> str:
    """sha256 of an input given as a file (its bytes) or a folder (every file below it that is not hidden, in
    name order: its path relative to the folder, then its bytes)."""
    path = Path(path)
    if path.is_file():
        return file_sha256(path)
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
        h.update(str(f.relative_to(path)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()
