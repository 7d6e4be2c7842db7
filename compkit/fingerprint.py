"""Input fingerprints: one sha256 helper for bytes, files and folders of files (reports and audit logs record
them so a result can be traced back to exactly the inputs it came from). Hex digests, 64 characters."""
from __future__ import annotations

import hashlib
import hmac
import json
import pickle
from pathlib import Path
from typing import Any


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
        with open(f, "rb") as fh:  # in blocks: a large file is never held whole (the same digest)
            for block in iter(lambda: fh.read(1 << 22), b""):
                h.update(block)
    return h.hexdigest()


class HashingWriter:
    """A file's ``write`` that also feeds sha256: the digest of the bytes written, without reading them back."""

    def __init__(self, fh: Any) -> None:
        self.fh, self.sha = fh, hashlib.sha256()

    def write(self, data: Any) -> int:
        self.sha.update(data)
        return self.fh.write(data)


def dump_pickle(obj: Any, path: str | Path) -> str:
    """Pickle ``obj`` (protocol 5) into ``path``; returns the sha256 of the bytes written. Pickles are for
    compkit's own private temporary folders only (see :func:`load_pickle`)."""
    with open(path, "wb") as fh:
        hashed = HashingWriter(fh)
        pickle.dump(obj, hashed, protocol=5)
    return hashed.sha.hexdigest()


def load_pickle(path: str | Path, sha256: str) -> Any | None:
    """The object pickled in ``path`` when its bytes have the sha256 ``sha256`` (checked before anything is
    unpickled); None otherwise."""
    raw = Path(path).read_bytes()
    if not hmac.compare_digest(hashlib.sha256(raw).hexdigest(), sha256):
        return None
    return pickle.loads(raw)


def seal(manifest: dict[str, Any], key: bytes) -> str:
    """HMAC-SHA256 of a manifest (its JSON with sorted keys) under ``key``: only a holder of the key can write a
    manifest that :func:`sealed` accepts, so a folder made elsewhere is never unpickled."""
    return hmac.new(key, json.dumps(manifest, sort_keys=True, ensure_ascii=False).encode(), "sha256").hexdigest()


def sealed(manifest: dict[str, Any], tag: str, key: bytes) -> bool:
    """Whether ``tag`` is :func:`seal` of ``manifest`` under ``key`` (compared in constant time)."""
    return hmac.compare_digest(seal(manifest, key), str(tag))
