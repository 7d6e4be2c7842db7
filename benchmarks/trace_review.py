"""Where ``compkit review`` spends its time outside the notebooks: run the review in this process and print each
of its own steps (load, private copy, each evaluation, the bracket's costs, the kept outcomes, each notebook's
papermill run and HTML conversion, the privacy scan) with its start, wall seconds and this process's CPU seconds.

    python benchmarks/trace_review.py --data /work/bench100k/csv-100000 [--scenarios 1000] [--cprofile FILE]

At 100,000 managers run it under the shared lock (``flock /work/heavy.lock ...``). The notebooks' kernels are
other processes: their CPU shows in the last line (children), not in the steps. ``--cprofile FILE`` also writes a
cProfile of this process's main thread (the notebooks' threads are not in it). Speed is shown here, never asserted
in tests.
"""
from __future__ import annotations

import argparse
import functools
import importlib
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import cpu_seconds, load_average, peak_mb  # noqa: E402
from proctree import tree_pss_bytes  # noqa: E402

T0 = time.perf_counter()
LOCK = threading.Lock()
#: (module, function) pairs whose calls are timed; a name missing in this checkout is skipped
STEPS = [
    ("compkit.policy", "load_policy"),
    ("compkit.data", "load_dataset"),
    ("compkit.data", "Dataset.to_private_copy"),
    ("compkit.report", "_keep_outcomes"),
    ("compkit.engine", "evaluate"),
    ("compkit.calibration", "bracket_and_kept"),
    ("compkit.calibration", "employer_cost"),
    ("compkit.outcome_store", "keep"),
    ("compkit.kernels", "WarmKernel._start"),
    ("compkit.kernels", "WarmKernel._warm_up"),
    ("compkit.report", "execute"),
    ("compkit.report", "to_html"),
    ("compkit.report", "scan_for_identifiers"),
    ("compkit.report", "data_sha256"),
    ("compkit._memory", "release_freed_memory"),
    ("compkit.report", "replace_folder"),
]


#: (seconds since the start, proportional set size of this process and its kernels in bytes), every 0.2 s
PSS: list[tuple[float, int]] = []
NOTEBOOKS_START: list[float] = []


def _sample(stop: threading.Event) -> None:
    import os

    while not stop.is_set():
        PSS.append((time.perf_counter() - T0, tree_pss_bytes(os.getpid())))
        stop.wait(0.2)


def _wrap(owner: object, attr: str, label: str) -> None:
    real = getattr(owner, attr)

    @functools.wraps(real)
    def timed(*a, **k):
        t, c = time.perf_counter(), cpu_seconds()
        if label == "report.execute" and not NOTEBOOKS_START:
            NOTEBOOKS_START.append(t - T0)
        try:
            return real(*a, **k)
        finally:
            with LOCK:
                print(f"  {label:<34} start {t - T0:7.1f} s  wall {time.perf_counter() - t:7.2f} s  "
                      f"process CPU {cpu_seconds() - c:7.2f} s  [{threading.current_thread().name}]", flush=True)

    setattr(owner, attr, timed)


def _cell_times(folder: Path, epoch0: float) -> list[str]:
    """``cell NOTEBOOK INDEX START END`` (seconds on the samples' clock; papermill's cell metadata) for every
    code cell of the executed notebooks in ``folder``."""
    import json
    from datetime import datetime

    out = []
    for nb_path in sorted(folder.glob("*.ipynb")):
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        for i, cell in enumerate(nb["cells"]):
            pm = cell.get("metadata", {}).get("papermill", {})
            if cell["cell_type"] == "code" and pm.get("start_time") and pm.get("end_time"):
                t = [datetime.fromisoformat(pm[k].replace("Z", "+00:00")).timestamp() - epoch0
                     for k in ("start_time", "end_time")]
                out.append(f"cell {nb_path.stem} {i} {t[0]:.1f} {t[1]:.1f}")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--policy", type=Path, default=ROOT / "data" / "policies" / "2025.yaml")
    p.add_argument("--candidate", type=Path, default=ROOT / "data" / "policies" / "2026.yaml")
    p.add_argument("--scenarios", type=int, default=1000)
    p.add_argument("--cprofile", type=Path, default=None)
    p.add_argument("--keep", type=Path, default=None,
                   help="copy the report (its executed notebooks hold each cell's start and end) to this folder")
    p.add_argument("--timeline", type=Path, default=None,
                   help="write every PSS sample (seconds since the start, GB) to this file, and each notebook "
                        "cell's start and end on the same clock when --keep is given")
    args = p.parse_args()
    load = load_average()
    import compkit.report

    for module, name in STEPS:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError:  # not in the checkout timed (an older one)
            continue
        owner, attr = mod, name
        if "." in name:
            cls, attr = name.split(".")
            owner = getattr(mod, cls, None)
        if owner is None or not hasattr(owner, attr):
            continue
        label = f"{module.split('.')[-1]}.{name}"
        _wrap(owner, attr, label)
    print(f"imports done at {time.perf_counter() - T0:.1f} s, CPU {cpu_seconds():.2f} s", flush=True)
    with tempfile.TemporaryDirectory(prefix="trace-review-") as work:
        out = Path(work) / "reports" / "review"
        prof = None
        if args.cprofile:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        stop = threading.Event()
        sampler = threading.Thread(target=_sample, args=(stop,), daemon=True)
        sampler.start()
        t, c = time.perf_counter(), cpu_seconds()
        compkit.report.run_review(year="2025", policy=args.policy, candidate=args.candidate, data=args.data,
                                  out=out, scenarios=args.scenarios, progress=False)
        wall, own = time.perf_counter() - t, cpu_seconds() - c
        stop.set()
        sampler.join()
        if prof is not None:
            prof.disable()
            prof.dump_stats(str(args.cprofile))
        import json

        m = json.loads((out / "manifest.json").read_text())
        if args.keep is not None:
            import shutil

            shutil.copytree(out, args.keep, dirs_exist_ok=True)
    if args.timeline is not None:
        lines = [f"{s:.1f} {b / 1e9:.3f}" for s, b in PSS]
        if args.keep is not None:
            lines += _cell_times(args.keep, time.time() - (time.perf_counter() - T0))
        args.timeline.write_text("\n".join(lines) + "\n")
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    nb = {n["name"]: n["seconds"] for n in m["notebooks"]}
    print(f"run_review: wall {wall:.1f} s, this process CPU {own:.1f} s, children CPU {ch.ru_utime + ch.ru_stime:.1f}"
          f" s, this process peak {peak_mb() / 1024:.2f} GB RSS; notebooks (s) {nb}, their span {m['seconds']} s, "
          f"outside {wall - m['seconds']:.1f} s; load average {load:.2f} -> {load_average():.2f}")
    first = NOTEBOOKS_START[0] if NOTEBOOKS_START else float("inf")
    before = max((b for s, b in PSS if s < first), default=0)
    at = max(((b, s) for s, b in PSS if s < first), default=(0, 0.0))[1]
    print(f"peak PSS of the review and its kernels: {before / 1e9:.2f} GB before the first notebook runs (at "
          f"{first:.1f} s; the peak at {at:.1f} s), {max((b for _, b in PSS), default=0) / 1e9:.2f} GB in all")
    step = max(1, len(PSS) // 60)
    print("PSS timeline (s: GB): " + ", ".join(f"{s:.0f}: {b / 1e9:.2f}" for s, b in PSS[::step]))


if __name__ == "__main__":
    main()
