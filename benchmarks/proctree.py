"""Memory of a process and all its descendants (Linux /proc), for the benchmarks that run a command with workers
(bench_review.py, bench_statements.py)."""
from __future__ import annotations

import os
import threading
import time


def _processes() -> tuple[dict[int, list[int]], dict[int, int]]:
    """One pass over /proc: parent pid -> child pids, and pid -> resident bytes."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().decode("latin-1")
            fields = stat[stat.rfind(")") + 2:].split()
            ppid, pages = int(fields[1]), int(fields[21])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * page
    return children, rss


def _tree(root: int, children: dict[int, list[int]]) -> list[int]:
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def tree_pids(root: int) -> list[int]:
    """``root`` and all its descendants."""
    return _tree(root, _processes()[0])


def tree_rss_bytes(root: int) -> int:
    """Resident memory of ``root`` and all its descendants (pages shared by forked workers counted in each)."""
    children, rss = _processes()
    return sum(rss.get(pid, 0) for pid in _tree(root, children))


def _pss(pid: int, rss: int) -> int:
    """Proportional set size (a page shared by n processes counts 1/n), from /proc/<pid>/smaps_rollup; the
    resident size where that file cannot be read (another user's process). A process that has gone, or is exiting
    (its smaps_rollup has no Pss line: its memory is being handed back, and the pages it shared are counted in the
    processes that still map them), counts 0: taking its resident size then counted a forked worker's shared pages
    in full once more at the end of every fork_map (a spike of 1.7 GB at 100,000 managers at the end of the review's
    Monte Carlo)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        return 0
    except (OSError, ValueError):
        return rss
    return 0


def tree_pss_bytes(root: int) -> int:
    """Proportional set size of ``root`` and its descendants: pages shared between them (a forked worker's
    copy-on-write view of its parent's data) counted once in all, unlike the sum of resident sizes."""
    children, rss = _processes()
    return sum(_pss(pid, rss.get(pid, 0)) for pid in _tree(root, children))


class PeakMemory:
    """The peak memory of ``root`` and its descendants while a command runs, sampled on a thread (``start``,
    ``stop``): ``rss`` the largest sum of resident sizes (every ``every`` s; /proc/<pid>/stat, a few microseconds a
    process) and ``pss`` the largest sum of proportional set sizes (:func:`tree_pss_bytes`).

    The proportional set size is read only when the tree's resident size has passed the largest proportional size
    seen so far (a process's PSS is at most its RSS, so no new peak is missed by the rule at the moments sampled),
    and at most every ``pss_every`` s: reading smaps_rollup walks the page tables of every process in the tree
    (tens of milliseconds of system time a reading at 100,000 managers, under the process's memory-map lock). Read
    ten times a second it took about 30 s of system CPU of this machine's two cores over a ``compkit review`` and
    made the review it measured about 14 s slower (84.5 and 86.1 s against 71 and 72 s unsampled, 2 December
    2026). ``readings`` counts the PSS readings; ``cpu`` is the sampler's own CPU seconds (printed with the figures:
    what the measurement took from the machine)."""

    def __init__(self, root: int, every: float = 0.1, pss_every: float = 1.0) -> None:
        self.root, self.every, self.pss_every = root, every, pss_every
        self.rss = self.pss = self.readings = 0
        self.cpu = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def start(self) -> PeakMemory:
        self._thread.start()
        return self

    def stop(self) -> PeakMemory:
        self._done.set()
        self._thread.join()
        return self

    def _sample(self) -> None:
        last_pss = -float("inf")
        while True:
            children, rss = _processes()
            tree = _tree(self.root, children)
            now_rss = sum(rss.get(pid, 0) for pid in tree)
            self.rss = max(self.rss, now_rss)
            now = time.monotonic()
            if now_rss > self.pss and now - last_pss >= self.pss_every:
                self.pss = max(self.pss, sum(_pss(pid, rss.get(pid, 0)) for pid in tree))
                self.readings += 1
                last_pss = now
            self.cpu = time.thread_time()
            if self._done.wait(self.every):
                return
