"""compkit._memory: how the process asks for memory (checked in fresh processes: the settings are per process)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, os, compkit
from compkit import _memory
import numpy, pyarrow
from numpy._core.multiarray import _get_madvise_hugepage
print(json.dumps({"applied": _memory._applied, "numpy_hugepages": bool(_get_madvise_hugepage()),
                  "arrow_pool": pyarrow.default_memory_pool().backend_name}))
"""


def _probe(**env: str) -> dict:
    environ = {k: v for k, v in os.environ.items()
               if k not in ("COMPKIT_MEMORY", "NUMPY_MADVISE_HUGEPAGE", "ARROW_DEFAULT_MEMORY_POOL")}
    environ["PYTHONPATH"] = str(ROOT) + os.pathsep + environ.get("PYTHONPATH", "")
    environ.update(env)
    out = subprocess.run([sys.executable, "-c", PROBE], env=environ, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_compkit_reuses_freed_memory() -> None:
    got = _probe()
    if sys.platform.startswith("linux"):
        assert got["applied"]["malloc"] is True  # glibc's mallopt accepted both settings
        assert got["applied"]["one_arena"] is True  # every thread served from the one heap
    assert got["applied"]["numpy_hugepages_off"] is True and got["numpy_hugepages"] is False
    assert got["applied"]["arrow_system_pool"] is True and got["arrow_pool"] == "system"


def test_compkit_memory_default_leaves_the_process_alone() -> None:
    got = _probe(COMPKIT_MEMORY="default")
    assert got["applied"] == {}
    assert got["numpy_hugepages"] is True and got["arrow_pool"] != "system"


def test_a_users_own_choice_is_kept() -> None:
    got = _probe(NUMPY_MADVISE_HUGEPAGE="1", ARROW_DEFAULT_MEMORY_POOL="jemalloc")
    assert got["applied"]["numpy_hugepages_off"] is False and got["numpy_hugepages"] is True
    assert got["applied"]["arrow_system_pool"] is False


def test_a_users_own_arena_count_is_kept() -> None:
    got = _probe(MALLOC_ARENA_MAX="4")
    assert got["applied"]["one_arena"] is False


def test_numpy_imported_first_is_switched_at_run_time() -> None:
    code = ("import numpy, pyarrow, compkit\n"
            "from numpy._core.multiarray import _get_madvise_hugepage\n"
            "print(_get_madvise_hugepage(), pyarrow.default_memory_pool().backend_name)")
    environ = {k: v for k, v in os.environ.items()
               if k not in ("COMPKIT_MEMORY", "NUMPY_MADVISE_HUGEPAGE", "ARROW_DEFAULT_MEMORY_POOL")}
    environ["PYTHONPATH"] = str(ROOT) + os.pathsep + environ.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "system"]


def test_release_freed_memory_trims_only_when_compkit_tunes_malloc() -> None:
    code = ("import compkit\nfrom compkit import _memory\n"
            "print(_memory.release_freed_memory(), bool(_memory._applied.get('malloc')))")
    environ = {k: v for k, v in os.environ.items() if k != "COMPKIT_MEMORY"}
    environ["PYTHONPATH"] = str(ROOT) + os.pathsep + environ.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True)
    trimmed, tuned = out.stdout.split()
    assert trimmed == tuned  # glibc: trimmed; elsewhere nothing to trim
    environ["COMPKIT_MEMORY"] = "default"
    out = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_large_blocks_from_kernel_only_within_the_block() -> None:
    """Within large_blocks_from_kernel a 32 MB array is mapped from the kernel (glibc's mallinfo2: hblkhd, the bytes
    in mapped blocks, grows by it) and handed back when freed; after the block a 32 MB array comes from the heap
    again (hblkhd unchanged). With COMPKIT_MEMORY=default the block changes nothing (yields False)."""
    code = """
import ctypes, json, compkit, numpy as np
from compkit import _memory
class M(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                "fsmblks", "uordblks", "fordblks", "keepcost")]
f = ctypes.CDLL(None).mallinfo2
f.restype = M
mapped = lambda: f().hblkhd
before = mapped()
with _memory.large_blocks_from_kernel() as ok:
    a = np.ones(4 * 2 ** 20)  # 32 MB
    inside = mapped()
b = np.ones(4 * 2 ** 20)
after = mapped()
del a
freed = mapped()
print(json.dumps({"ok": ok, "inside": inside - before, "after": after - inside, "freed": inside - freed}))
"""
    environ = {k: v for k, v in os.environ.items() if k != "COMPKIT_MEMORY"}
    environ["PYTHONPATH"] = str(ROOT) + os.pathsep + environ.get("PYTHONPATH", "")
    if not sys.platform.startswith("linux"):
        return
    out = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["ok"] is True
    assert got["inside"] >= 32 * 2 ** 20 and got["after"] == 0 and got["freed"] >= 32 * 2 ** 20
    environ["COMPKIT_MEMORY"] = "default"
    out = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1])["ok"] is False


def test_csv_files_are_read_in_a_pool_of_their_own_only_when_compkit_chose_arrows_pool() -> None:
    code = ("import compkit, pyarrow\nfrom compkit import _memory\npool = _memory.reading_pool()\n"
            "print(pool.backend_name if pool is not None else None, pyarrow.default_memory_pool().backend_name)")
    environ = {k: v for k, v in os.environ.items() if k not in ("COMPKIT_MEMORY", "ARROW_DEFAULT_MEMORY_POOL")}
    environ["PYTHONPATH"] = str(ROOT) + os.pathsep + environ.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True)
    pool, default = out.stdout.split()
    assert default == "system" and pool in ("jemalloc", "None")  # None: an Arrow built without jemalloc
    for env in ({"COMPKIT_MEMORY": "default"}, {"ARROW_DEFAULT_MEMORY_POOL": "mimalloc"}):
        out = subprocess.run([sys.executable, "-c", code], env={**environ, **env}, capture_output=True, text=True,
                             check=True)
        assert out.stdout.split()[0] == "None"  # the user's (or Arrow's) own pool for everything
