"""Where the memory of load + evaluate (and of ``compkit statements`` before its workers fork) goes, step by step.

    python benchmarks/memory_timeline.py --data /work/bench100k/parquet-100000 [--policy data/policies/2025.yaml]
                                         [--statements] [--interval 0.01]

One process does what ``compkit statements`` does in its main process (load, evaluate and, with ``--statements``,
drop the tables the statements do not read, work out the contents and put them in people's order), while a
thread samples every ``--interval`` seconds, labelled with the engine's (and the contents') step running on each
thread at that moment:

  live    the bytes glibc's malloc has handed out and not yet got back (``mallinfo2``: numpy, pandas and Arrow
          arrays all come from it, compkit._memory); what the program holds
  heap    the size of malloc's heap (live + free chunks inside it: the fragmentation)
  rss     the resident anonymous memory of the process (heap pages touched + Python's own small objects +
          the interpreter): what ``ru_maxrss`` and the benchmarks' peak measure

Printed: per step, the largest of each while it ran; per phase, wall and CPU seconds and ``ru_maxrss`` at its
end; the load average. Figures, never assertions. glibc only (elsewhere live and heap are 0).
"""
from __future__ import annotations

import argparse
import ctypes
import os
import resource
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import rss_anon_mb  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


class _MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                "fsmblks", "uordblks", "fordblks", "keepcost")]


def _heap() -> tuple[float, float]:
    """(live MB, heap MB) from glibc's mallinfo2; (0, 0) where it is missing."""
    try:
        f = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return 0.0, 0.0
    f.restype = _MallInfo2
    m = f()
    return (m.uordblks + m.hblkhd) / 2 ** 20, (m.arena + m.hblkhd) / 2 ** 20


class Timeline:
    """Samples (live, heap, rss) on a thread, labelled with the steps running (``step`` wraps a function)."""

    def __init__(self, interval: float) -> None:
        self.interval, self.running, self.peaks = interval, {}, {}
        self.label, self._stop = "start", False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop:
            live, heap = _heap()
            rss = rss_anon_mb()
            p = self.peaks.setdefault(self.label, [live, heap, rss])
            p[0], p[1], p[2] = max(p[0], live), max(p[1], heap), max(p[2], rss)
            time.sleep(self.interval)

    def _relabel(self) -> None:
        self.label = " | ".join(f"{k}: {v}" if k != "phase" else v for k in ("phase", "main", "second")
                                if (v := self.running.get(k))) or "-"

    def step(self, module: object, name: str) -> None:
        fn = getattr(module, name, None)
        if fn is None:  # a step of another version of the engine
            return

        def wrapped(*args, **kwargs):
            thread = "main" if threading.current_thread() is threading.main_thread() else "second"
            before = self.running.get(thread)
            self.running[thread] = name
            self._relabel()
            try:
                return fn(*args, **kwargs)
            finally:
                self.running[thread] = before
                self._relabel()
        setattr(module, name, wrapped)

    def phase(self, name: str) -> None:
        self.running = {"phase": name}
        self._relabel()

    def start(self) -> Timeline:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop = True
        self._thread.join()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--policy", type=Path, default=ROOT / "data" / "policies" / "2025.yaml")
    p.add_argument("--statements", action="store_true", help="also the statements' contents, as write_statements")
    p.add_argument("--interval", type=float, default=0.01)
    args = p.parse_args()

    import compkit.engine as engine
    import compkit.feedback as feedback
    from compkit._memory import release_freed_memory
    from compkit.data import load_dataset
    from compkit.policy import load_policy

    tl = Timeline(args.interval)
    for name in ("scorecard", "_commission_lines", "_commission_bases", "_lines_from", "_career", "_salary_review",
                 "_promotions", "_benefits", "_net_pay", "_commission_cents", "_monthly_gross", "_checks_and_leavers"):
        tl.step(engine, name)
    for name in ("_plain_reason", "_commission_lines", "_indicator_table", "_net_lines", "_feedback_lines"):
        tl.step(feedback, name)
    policy = load_policy(args.policy)
    marks = []

    def mark(name: str) -> None:
        r = resource.getrusage(resource.RUSAGE_SELF)
        marks.append((name, time.perf_counter(), r.ru_utime + r.ru_stime, r.ru_maxrss / 1024))

    tl.start()
    mark("start")
    tl.phase("load")
    data = load_dataset(args.data, policy=policy)
    mark("load")
    tl.phase("evaluate")
    outcomes = engine.evaluate(policy, data)
    mark("evaluate")
    if args.statements:  # as write_statements does before its workers fork
        tl.phase("contents")
        data = feedback.statement_inputs(data)
        release_freed_memory()
        st = feedback.statement_contents(policy, data, outcomes=outcomes, release=True)
        del data, outcomes
        release_freed_memory()
        mark("contents")
        tl.phase("pages")
        feedback.StatementPages(st, policy)
        mark("pages")
    tl.stop()
    print(f"{'phase | main: step | second: step':56s} {'live':>7s} {'heap':>7s} {'rss':>7s} (MB, most while it ran)")
    for label, (live, heap, rss) in tl.peaks.items():
        print(f"{label[:58]:58s} {live:7.0f} {heap:7.0f} {rss:7.0f}")
    for (name, t, cpu, peak), (_, t0, cpu0, _) in zip(marks[1:], marks):
        print(f"{name:10s} wall {t - t0:6.1f} s  CPU {cpu - cpu0:6.1f} s  ru_maxrss so far {peak:6.0f} MB")
    print("load average", " ".join(f"{x:.2f}" for x in os.getloadavg()), "| data", args.data, file=sys.stdout)


if __name__ == "__main__":
    main()
