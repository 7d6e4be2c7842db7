"""Profile one review notebook in this process: each code cell's wall and CPU seconds, resident memory after it,
and every ``evaluate`` call (count and seconds) made in it.

    python benchmarks/profile_notebook.py notebooks/policy_review.ipynb --param data_path=DIR [--param scenarios=20]
        [--cprofile CELL ...]

Parameters are Python literals (``--param scenarios=20``) or plain text (``--param data_path=/tmp/x``). The cells run
in a plain namespace (no kernel, matplotlib's Agg backend, ``display`` prints nothing), from a temporary folder, so
the figures are the notebook's own work without papermill. Speed is shown here, never asserted in tests.
"""
from __future__ import annotations

import argparse
import ast
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rss_gb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e9


def cpu() -> float:
    """User + system seconds of this process and of its finished children (the forked workers of
    compkit.parallel.fork_map)."""
    r, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime


def _live_bytes() -> int:
    """The bytes glibc's malloc has handed out and not got back (mallinfo2; 0 elsewhere)."""
    import ctypes

    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                    "fsmblks", "uordblks", "fordblks", "keepcost")]

    try:
        f = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return 0
    f.restype = MallInfo2
    m = f()
    return m.uordblks + m.hblkhd


class _Peaks:
    """The largest resident size and live heap since :meth:`reset`, sampled every 50 ms on a thread."""

    def __init__(self) -> None:
        import threading

        self.rss = self.live = 0
        threading.Thread(target=self._run, daemon=True).start()

    def reset(self) -> None:
        self.rss = self.live = 0

    def _run(self) -> None:
        while True:
            self.rss = max(self.rss, int(rss_gb() * 1e9))
            self.live = max(self.live, _live_bytes())
            time.sleep(0.05)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("notebook", type=Path)
    p.add_argument("--param", action="append", default=[])
    p.add_argument("--cprofile", type=int, action="append", default=[],
                   help="profile this cell (index among the code cells); may be given more than once")
    p.add_argument("--peaks", action="store_true",
                   help="also print each cell's peak resident size and peak live heap (glibc's mallinfo2: what "
                        "the program holds, without the freed memory malloc keeps), sampled every 50 ms, and "
                        "the live heap after it")
    args = p.parse_args()
    sampler = _Peaks() if args.peaks else None
    import matplotlib

    matplotlib.use("Agg")
    import IPython.display
    import nbformat

    import compkit
    import compkit.engine

    calls: list[tuple[str, float, float]] = []
    real = compkit.engine.evaluate

    def counted(*a, **k):
        t, c = time.perf_counter(), cpu()
        try:
            return real(*a, **k)
        finally:
            calls.append((getattr(a[0], "version", "?"), time.perf_counter() - t, cpu() - c))

    for mod in list(sys.modules.values()):
        if getattr(mod, "__name__", "").startswith("compkit") and getattr(mod, "evaluate", None) is real:
            mod.evaluate = counted
    IPython.display.display = lambda *a, **k: None
    nb = nbformat.read(str(args.notebook), as_version=4)
    params = {}
    for item in args.param:
        key, _, value = item.partition("=")
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value
    ns: dict = {"__name__": "__main__"}
    work = tempfile.mkdtemp(prefix="profile-nb-")
    nbdir = args.notebook.resolve().parent
    os.chdir(nbdir)  # the notebooks' default paths are relative to their folder
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    total_t, total_c = time.perf_counter(), cpu()
    for i, cell in enumerate(code_cells):
        src = cell.source
        if "parameters" in cell.metadata.get("tags", []):
            exec(src, ns)
            ns.update(params)
            if "out_dir" in ns:
                ns["out_dir"] = work
            continue
        if "widgets" in cell.metadata.get("tags", []):
            continue
        src = "\n".join(line for line in src.splitlines() if not line.lstrip().startswith(("%", "!")))
        before = len(calls)
        if sampler is not None:
            sampler.reset()
        t, c = time.perf_counter(), cpu()
        if i in args.cprofile:
            import cProfile
            import pstats

            prof = cProfile.Profile(time.process_time)
            prof.runctx(compile(src, f"cell{i}", "exec"), ns, ns)
            pstats.Stats(prof).sort_stats("cumulative").print_stats(45)
        else:
            exec(compile(src, f"cell{i}", "exec"), ns)
        import matplotlib.pyplot as plt

        plt.close("all")
        ev = calls[before:]
        peaks = "" if sampler is None else (f"peak rss {sampler.rss / 1e9:5.2f} GB, peak live {sampler.live / 1e9:5.2f}"
                                            f" GB, live {_live_bytes() / 1e9:5.2f} GB; ")
        print(f"cell {i:2d}: {time.perf_counter() - t:7.2f} s wall, {cpu() - c:7.2f} s CPU, rss {rss_gb():5.2f} GB; "
              f"{peaks}"
              f"evaluate x{len(ev)} ({sum(e[2] for e in ev):.1f} s CPU) | {src.splitlines()[0][:70] if src else ''}",
              flush=True)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"total {time.perf_counter() - total_t:.1f} s wall, {cpu() - total_c:.1f} s CPU, evaluate x{len(calls)} "
          f"({sum(e[2] for e in calls):.1f} s CPU), peak rss {peak_gb:.2f} GB, load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
