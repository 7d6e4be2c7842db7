"""How the process asks the kernel for memory (private; applied once, when compkit is imported).

An evaluation of 100,000 managers makes hundreds of temporary arrays of 1 to 70 MB. By default glibc gives each
array above its mmap threshold fresh pages from the kernel and returns them when the array is freed, and numpy asks
for transparent huge pages for every array above 4 MB; the kernel must then zero every page of every temporary
before it is used. Measured on the 2-core project machine (a virtual machine), zeroing fresh memory was most of
``evaluate``'s time at 100,000 managers (``clear_page`` in the kernel: 45% of all samples under ``perf``), and
a fresh 2 MB huge page cost about 20 ms there, twenty times as much as the same memory in 4 KB pages.

:func:`reuse_freed_memory` therefore

* tells glibc's ``malloc`` to serve large blocks from its heap too (``M_MMAP_MAX`` = 0) and to keep freed memory
  for the next array instead of handing it back (``M_TRIM_THRESHOLD`` 2 GB): a freed temporary's pages are reused
  without the kernel zeroing them again;
* tells glibc to serve every thread from that one heap (``M_ARENA_MAX`` = 1): the engine works on a second
  thread (compkit.engine.in_background), and a second thread's own arena is made of heaps of at most 64 MB that
  glibc unmaps as soon as they are free, so its temporaries took fresh pages every time (measured at 100,000
  managers: an evaluation's page faults 0.81M -> 0.52M, peak resident 3.68 -> 3.24 GB; a second evaluation in
  the same process 0.36M -> 0.015M faults, system time 0.73 -> 0.05 s). An ``MALLOC_ARENA_MAX`` you set yourself
  is kept;
* tells numpy not to ask for transparent huge pages, and Arrow to allocate through ``malloc`` as well (its own
  pool asks for huge pages too).

Neither changes a single result (they change where arrays live, not what is in them); both lower the time, not the
peak memory (the resident size stays at the process's peak until it exits). Set the environment variable
``COMPKIT_MEMORY=default`` to leave the process's allocator alone. Other C libraries than glibc are left alone.
"""
from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_M_TRIM_THRESHOLD = -1  # mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8
_TRIM_THRESHOLD = 2 ** 31 - 1  # the largest an int holds: about 2 GB
_MMAP_MAX_DEFAULT = 65536  # glibc's default M_MMAP_MAX

_applied: dict[str, bool] = {}


def reuse_freed_memory() -> dict[str, bool]:
    """Apply the settings above once per process (no-op with ``COMPKIT_MEMORY=default``); returns what was
    applied: ``{"malloc": bool, "one_arena": bool, "arrow_system_pool": bool, "numpy_hugepages_off": bool}``."""
    if _applied or os.environ.get("COMPKIT_MEMORY", "").lower() == "default":
        return _applied
    _applied["malloc"] = _applied["one_arena"] = False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
        mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        ok_mmap = mallopt(_M_MMAP_MAX, 0) == 1
        ok_trim = mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD) == 1
        _applied["malloc"] = ok_mmap and ok_trim
        # one heap for every thread (glibc reads MALLOC_ARENA_MAX itself when the user set it)
        _applied["one_arena"] = "MALLOC_ARENA_MAX" not in os.environ and mallopt(_M_ARENA_MAX, 1) == 1
    except (OSError, AttributeError, TypeError):  # not glibc (musl, macOS, Windows): nothing to tune
        pass
    _applied["arrow_system_pool"] = _arrow_system_pool()
    _applied["numpy_hugepages_off"] = _numpy_hugepages_off()
    return _applied


def _arrow_system_pool() -> bool:
    """Arrow allocates through ``malloc`` too (its default pool, mimalloc or jemalloc, asks for huge pages)."""
    if "ARROW_DEFAULT_MEMORY_POOL" in os.environ:  # the user chose
        return False
    if "pyarrow" not in sys.modules:  # read when pyarrow is imported
        os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"
        return True
    import pyarrow

    pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    return True


def reading_pool() -> object | None:
    """The Arrow memory pool for reading CSV files (jemalloc's, Arrow's own allocator), or None for the default.

    Arrow's CSV reader makes about twice a file's size in short-lived buffers (the blocks read, the parsed
    fields, the converted chunks), and the text columns kept as Arrow text lie among them. In malloc's one heap
    (:func:`reuse_freed_memory`) they left holes between the tables' columns that the evaluation which follows
    could not fill (measured at 100,000 managers from CSV: the heap after loading 2.2-2.3 GB for 1.1 GB of tables,
    and 0.42 GB of its free chunks still unused at the evaluation's peak; load + evaluate's peak resident size
    3.36-3.41 GB). Read by jemalloc, which hands each freed block back to the kernel at once (Arrow's setting), the
    reader's buffers leave no holes in malloc's heap: the peak 3.05-3.09 GB, for about 0.5 s more CPU (fresh
    pages for the reader). The columns pandas makes of them are allocated by ``malloc`` as before; the text
    columns kept as Arrow text (deal ids, about 85 MB) stay in jemalloc's pages until freed. None when this
    module leaves Arrow's allocation alone (``COMPKIT_MEMORY=default``, or ``ARROW_DEFAULT_MEMORY_POOL`` set) or
    Arrow was built without jemalloc."""
    if not _applied.get("arrow_system_pool"):
        return None
    try:
        import pyarrow

        return pyarrow.jemalloc_memory_pool()
    except (ImportError, NotImplementedError, AttributeError):
        return None


def _numpy_hugepages_off() -> bool:
    """numpy does not ask for transparent huge pages (it does for every array of 4 MB or more by default)."""
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:  # the user chose
        return False
    if "numpy" not in sys.modules:  # read when numpy is imported (import compkit stays cheap)
        os.environ["NUMPY_MADVISE_HUGEPAGE"] = "0"
        return True
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # numpy < 2
        try:
            from numpy.core.multiarray import _set_madvise_hugepage
        except ImportError:
            return False
    _set_madvise_hugepage(False)
    return True


def release_freed_memory() -> bool:
    """Hand the pages of freed memory back to the kernel (glibc's ``malloc_trim``): called where a command keeps
    its data while it waits or forks (the review before its notebooks, the statements before their workers), so
    that freed temporaries do not stay resident beside what comes next. Not at the end of loading: the evaluation
    that follows reuses those pages, and on this machine a page handed back comes back as a costly fresh one
    (README, "Loading and validating at 100,000 managers"). False where there is nothing to trim (not glibc, or
    ``COMPKIT_MEMORY=default``)."""
    if not _applied.get("malloc"):
        return False
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        return False
    return True


@contextmanager
def large_blocks_from_kernel(threshold: int = 16 * 2 ** 20) -> Iterator[bool]:
    """Within the block, blocks of ``threshold`` bytes or more (16 MB: the columns of a 100,000-manager bank's
    person-month and line tables) are mapped from the kernel and handed back when freed, instead of coming from
    malloc's heap (:func:`reuse_freed_memory`). For a command whose peak memory matters more than a few seconds
    (``compkit statements``): measured at 100,000 managers from CSV, load + evaluate's peak resident size
    3.25-3.33 -> 2.95 GB (the heap's free chunks between live arrays, about 0.7 GB at evaluate's peak, no longer
    resident), for about 2.2M more page faults (the kernel zeroes each fresh page; 4-5 s more CPU on the shared
    2-core machine). Arrays made within the block keep their mapping until freed. Yields whether it applied
    (glibc, and not ``COMPKIT_MEMORY=default``)."""
    if not _applied.get("malloc"):
        yield False
        return
    mallopt = ctypes.CDLL(None).mallopt
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, int(threshold)) == 1 and mallopt(_M_MMAP_MAX, _MMAP_MAX_DEFAULT) == 1
    try:
        yield ok
    finally:
        mallopt(_M_MMAP_MAX, 0)  # large blocks from the heap again (reuse_freed_memory)
