"""compkit.fingerprint: sha256 of inputs, pickles checked before they are read, manifests sealed with a key."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from compkit import fingerprint


def test_sha256_of_bytes_files_and_folders(tmp_path: Path) -> None:
    # the sha256 of b"abc" is the FIPS 180-2 example
    assert fingerprint.bytes_sha256(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    (tmp_path / "b.csv").write_bytes(b"abc")
    assert fingerprint.file_sha256(tmp_path / "b.csv") == fingerprint.bytes_sha256(b"abc")
    (tmp_path / "a.csv").write_bytes(b"x")
    (tmp_path / ".hidden").write_bytes(b"ignored")
    # a folder: each file's relative path then its bytes, in name order; hidden files left out
    assert fingerprint.path_sha256(tmp_path) == hashlib.sha256(b"a.csvxb.csvabc").hexdigest()


def test_a_pickle_is_read_only_with_the_digest_of_what_was_written(tmp_path: Path) -> None:
    table = pd.DataFrame({"employee_id": pd.Categorical(["E2", "E1"], categories=["E2", "E1"]),
                          "amount": [1.005, 2.5]})
    digest = fingerprint.dump_pickle(table, tmp_path / "t.pickle")
    assert digest == fingerprint.file_sha256(tmp_path / "t.pickle")  # hashed while written, not read back
    back = fingerprint.load_pickle(tmp_path / "t.pickle", digest)
    pd.testing.assert_frame_equal(back, table, check_exact=True)
    assert list(back["employee_id"].cat.categories) == ["E2", "E1"]
    raw = bytearray((tmp_path / "t.pickle").read_bytes())
    raw[-10] ^= 1
    (tmp_path / "t.pickle").write_bytes(bytes(raw))
    assert fingerprint.load_pickle(tmp_path / "t.pickle", digest) is None  # changed: not unpickled


def test_a_manifest_sealed_with_a_key_is_accepted_only_unchanged_and_with_that_key() -> None:
    manifest = {"b": ["数"], "a": 1}
    tag = fingerprint.seal(manifest, b"key")
    # HMAC-SHA256 under b"key" of the JSON with sorted keys, UTF-8: '{"a": 1, "b": ["数"]}'
    assert tag == "5a29f54f938d7004dc7ba12cfa234f66a3dd064b4e37afb7e715999870490fcc"
    assert fingerprint.sealed({"a": 1, "b": ["数"]}, tag, b"key")
    assert not fingerprint.sealed({"a": 2, "b": ["数"]}, tag, b"key")
    assert not fingerprint.sealed(manifest, tag, b"another key")
    assert not fingerprint.sealed(manifest, "", b"key")
