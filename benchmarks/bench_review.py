"""Benchmark: ``compkit review`` (the three review notebooks under papermill, HTML, index) end to end.

    python benchmarks/bench_review.py --data /work/bench100k/csv-100000 [--scenarios 1000] [--repeat 1]
        [--policy data/policies/2025.yaml] [--candidate data/policies/2026.yaml] [--compkit OTHER_CHECKOUT]

Each run is a fresh process (``python -m compkit.cli review ...``) writing its report to a temporary folder.
Printed per run: wall time, CPU time (user + system of the command, its notebook kernels and every process they
start, from ``resource.getrusage(RUSAGE_CHILDREN)``), peak memory (the largest sum of the resident memory of the
command and all its descendants at one moment, sampled every 100 ms from /proc: the command and the running
kernel together; and the same as proportional set sizes, which count the pages a forked worker shares with its
kernel once), the seconds of each notebook (from the review's manifest.json) and the load average before and
after (the machine is shared: quote the CPU time beside every wall time). Goal of issue 20 at 100,000 managers:
<= 90 s and <= 4 GB. Speed is shown here, never asserted in tests.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from proctree import PeakMemory  # benchmarks/ is on the path (run as a script, or by bench.py)

ROOT = Path(__file__).resolve().parent.parent
PSS_EVERY = float(os.environ.get("BENCH_PSS_EVERY", "1.0"))


def measured(cmd: list[str], env: dict[str, str], timeout: float | None = None) -> dict[str, object]:
    """Run ``cmd`` once: wall and CPU seconds (the command and all it started), peak resident memory of the
    process tree (GB), load average (1 min) before and after, exit code, output; killed after ``timeout`` s."""
    load_before = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    peak = PeakMemory(proc.pid, pss_every=PSS_EVERY).start()
    timed_out = False
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, 9)  # the command's own process group (start_new_session): it and what it started
        output, _ = proc.communicate()
    wall = time.perf_counter() - t0
    peak.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "peak_gb": peak.rss / 1e9, "peak_pss_gb": peak.pss / 1e9,
            "sampler_cpu": peak.cpu, "pss_readings": peak.readings,
            "load_before": load_before,
            "load_after": os.getloadavg()[0], "returncode": proc.returncode, "timed_out": timed_out,
            "output": output.decode("utf-8", "replace")}


def run_once(data: Path, policy: Path, candidate: Path, scenarios: int, code: Path = ROOT,
             timeout: float | None = None) -> dict[str, object]:
    """One ``compkit review`` of ``data`` in a fresh process (see :func:`measured`), plus each notebook's
    seconds from the manifest."""
    work = Path(tempfile.mkdtemp(prefix="bench-review-"))
    try:
        out = work / "reports" / "review"
        # -P: the working directory is not put first on the path, where ``-m`` would import the compkit of the
        # checkout the command is run from instead of ``code``'s (the notebooks' kernels import ``code``'s)
        cmd = [sys.executable, "-P", "-m", "compkit.cli", "review", "--year", "2025", "--policy", str(policy),
               "--candidate", str(candidate), "--data", str(data), "--out", str(out), "--scenarios", str(scenarios)]
        env = {**os.environ, "PYTHONPATH": str(code) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        r = measured(cmd, env, timeout)
        manifest = out / "manifest.json"
        if manifest.exists():
            m = json.loads(manifest.read_text())
            r["notebooks"] = {n["name"]: n["seconds"] for n in m["notebooks"]}
            # the review's own steps outside the notebooks' run (load, private copy, the evaluations and costs kept
            # before them; the scan, index and move after): the wall time less the notebooks' (manifest "seconds")
            if "seconds" in m:
                r["outside_notebooks"] = r["wall"] - m["seconds"]
        return r
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="a data folder (CSV or Parquet)")
    p.add_argument("--policy", type=Path, default=ROOT / "data" / "policies" / "2025.yaml")
    p.add_argument("--candidate", type=Path, default=ROOT / "data" / "policies" / "2026.yaml")
    p.add_argument("--scenarios", type=int, default=1000, help="Monte Carlo scenarios of the review (default 1000)")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--compkit", type=Path, default=ROOT, help="the checkout whose compkit is timed (default: this)")
    args = p.parse_args()
    runs = []
    for i in range(args.repeat):
        r = run_once(args.data, args.policy, args.candidate, args.scenarios, args.compkit)
        if r["returncode"]:
            sys.stdout.write(str(r["output"]))
            raise SystemExit(f"compkit review failed (exit {r['returncode']})")
        runs.append(r)
        print(f"run {i + 1}: wall {r['wall']:.1f} s, CPU {r['cpu']:.1f} s, peak memory {r['peak_gb']:.2f} GB "
              f"(sum of resident sizes; {r['peak_pss_gb']:.2f} GB as proportional set sizes), "
              f"load average {r['load_before']:.2f} -> {r['load_after']:.2f}; notebooks (s): "
              f"{r.get('notebooks', {})}; outside the notebooks (load, copy, evaluations before; scan after) "
              f"{r.get('outside_notebooks', float('nan')):.1f} s; the memory sampler's own CPU "
              f"{r['sampler_cpu']:.1f} s ({r['pss_readings']} PSS readings)", flush=True)
    if len(runs) > 1:
        med = {k: statistics.median(r[k] for r in runs) for k in ("wall", "cpu", "peak_gb")}
        print(f"median of {len(runs)}: wall {med['wall']:.1f} s, CPU {med['cpu']:.1f} s, "
              f"peak memory {med['peak_gb']:.2f} GB")
    print(f"data {args.data}, {args.scenarios} scenarios, {os.cpu_count()} CPU(s) on this machine; "
          "goal at 100,000 managers: <= 90 s, <= 4 GB")


if __name__ == "__main__":
    main()
