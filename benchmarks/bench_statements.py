"""Benchmark: ``compkit statements`` (one HTML statement per person and statements.xlsx) end to end.

    python benchmarks/bench_statements.py --data /work/bench100k/csv-100000 [--policy data/policies/2025.yaml]
        [--workers N] [--lang en] [--repeat 1] [--keep OUT] [--digest]

Each run is a fresh process (``python -m compkit.cli statements ...``) writing to a temporary folder. Printed per
run: wall time, CPU time (user + system of the command and every worker it started, from
``resource.getrusage(RUSAGE_CHILDREN)``; the system time apart: on ext4 without a journal, as on this machine,
creating a file costs up to about 0.7 ms of system time for some minutes after many files were deleted), peak
memory (the largest sum of the proportional set size of the command and its workers, from /proc by
``proctree.PeakMemory``: pages the forked workers share with it count once; the sampler's own CPU is printed) and
the load average before and after (the machine is shared: quote the CPU time beside every wall time).
``--digest`` also prints a sha256 of the output folder (every statement page
byte for byte, and the workbook's cell values sheet by sheet; the workbook's zip and time stamps are left out), to
check that a speed change leaves the output unchanged. Speed is shown here, never asserted in tests.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from proctree import PeakMemory

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-statements-pseudonym-key-not-a-secret-0123456789"


def run_once(args: argparse.Namespace, out: Path) -> dict[str, float]:
    cmd = [sys.executable, "-m", "compkit.cli", "statements", "--policy", str(args.policy), "--data",
           str(args.data), "--out", str(out)]
    if args.lang:
        cmd += ["--lang", args.lang]
    if args.period:
        cmd += ["--period", args.period]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "COMPKIT_PSEUDONYM_KEY": os.environ.get("COMPKIT_PSEUDONYM_KEY", KEY)}
    if args.workers is not None:
        env["COMPKIT_WORKERS"] = str(args.workers)
    load_before = os.getloadavg()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = PeakMemory(proc.pid).start()
    output, _ = proc.communicate()
    wall = time.perf_counter() - t0
    peak.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        sys.stdout.write(output.decode("utf-8", "replace"))
        raise SystemExit(f"compkit statements failed (exit {proc.returncode})")
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    return {"wall": wall, "cpu": user + system, "user": user, "system": system, "peak_gb": peak.pss / 1e9,
            "sampler_cpu": peak.cpu, "pss_readings": peak.readings,
            "load_before": load_before[0], "load_after": os.getloadavg()[0]}


def folder_digest(folder: Path) -> str:
    """sha256 over the statement pages (name and bytes, sorted by name) and the workbook's cell values (every
    sheet, every row, as text); the marker file (it holds a time) and the workbook's zip container are left out."""
    from openpyxl import load_workbook

    h = hashlib.sha256()
    for page in sorted(folder.glob("*.html")):
        h.update(page.name.encode() + b"\0" + page.read_bytes() + b"\0")
    book = folder / "statements.xlsx"
    if book.exists():
        wb = load_workbook(book, read_only=True)
        for ws in wb.worksheets:
            h.update(b"sheet\0" + ws.title.encode() + b"\0")
            for row in ws.iter_rows(values_only=True):
                h.update(repr(row).encode() + b"\n")
    return h.hexdigest()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="a data folder (CSV or Parquet)")
    p.add_argument("--policy", type=Path, default=ROOT / "data" / "policies" / "2025.yaml")
    p.add_argument("--workers", type=int, default=None, help="COMPKIT_WORKERS for the run (default: compkit's)")
    p.add_argument("--lang", default=None)
    p.add_argument("--period", default=None)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--keep", type=Path, default=None, help="keep the last run's output in this folder")
    p.add_argument("--digest", action="store_true", help="print the sha256 of the output (see folder_digest)")
    args = p.parse_args()
    runs = []
    for i in range(args.repeat):
        work = Path(tempfile.mkdtemp(prefix="bench-statements-"))
        out = work / "statements"
        try:
            r = run_once(args, out)
            runs.append(r)
            print(f"run {i + 1}: wall {r['wall']:.1f} s, CPU {r['cpu']:.1f} s (user {r['user']:.1f} s, system "
                  f"{r['system']:.1f} s), peak memory {r['peak_gb']:.2f} GB, "
                  f"load average {r['load_before']:.2f} -> {r['load_after']:.2f}; the memory sampler's own CPU "
                  f"{r['sampler_cpu']:.1f} s ({r['pss_readings']} PSS readings)", flush=True)
            if args.digest and i == args.repeat - 1:
                print(f"sha256 of the output: {folder_digest(out)}", flush=True)
            if args.keep is not None and i == args.repeat - 1:
                if args.keep.exists():
                    shutil.rmtree(args.keep)
                shutil.move(str(out), str(args.keep))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if len(runs) > 1:
        med = {k: statistics.median(r[k] for r in runs) for k in ("wall", "cpu", "peak_gb")}
        print(f"median of {len(runs)}: wall {med['wall']:.1f} s, CPU {med['cpu']:.1f} s, "
              f"peak memory {med['peak_gb']:.2f} GB")
    print(f"data {args.data}, policy {args.policy}, workers {args.workers or 'default'}, "
          f"{os.cpu_count()} CPU(s) on this machine")


if __name__ == "__main__":
    main()
