"""Benchmark: the review's sensitivity (20 knob settings) from the kept scorecard, against full evaluations.

    python benchmarks/bench_sensitivity.py --data /work/bench100k/csv-10000 [--policy data/policies/2026.yaml]
        [--load-policy data/policies/2025.yaml] [--full] [--processes 1] [--kept]

``review.sensitivity`` evaluates its first setting in full and the others from the stages it kept
(``engine.Kept``: scorecard, split, salary review and promotions, and the commission lines where only the gate,
the cap or the bonus move). Printed: its CPU (user + system of this process) and wall seconds with the load
average beside them, and each setting's cost; with ``--full`` also the 20 settings as full evaluations and
whether the costs are identical bit for bit. ``--processes``: the settings after the first over that many forked
processes (the notebook's ``evaluation_processes``); ``--kept``: the evaluation of the policy before it fills a
``Kept`` handed to the sensitivity (``sensitivity(kept=...)``: no setting evaluated in full). The CPU printed
includes the workers', and the peak
proportional set size of this process and its workers while the sensitivity runs (sampled every 0.2 s; pages the
workers share with this process counted once) is printed beside this process's peak. Speed is shown here, never
asserted in tests.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _measure import cpu_seconds, load_average, peak_mb  # noqa: E402
from proctree import PeakMemory  # noqa: E402

from compkit.data import load_dataset  # noqa: E402
from compkit.engine import Kept, evaluate  # noqa: E402
from compkit.policy import load_policy  # noqa: E402
from compkit.review import default_knobs, sensitivity  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a dataset folder (e.g. the shared 10,000-manager bank)")
    parser.add_argument("--policy", default=str(ROOT / "data" / "policies" / "2026.yaml"),
                        help="the policy whose knobs move (the review's candidate)")
    parser.add_argument("--load-policy", default=str(ROOT / "data" / "policies" / "2025.yaml"),
                        help="the policy the data are loaded with (the review's policy)")
    parser.add_argument("--full", action="store_true", help="also evaluate every setting in full and compare")
    parser.add_argument("--processes", type=int, default=1, help="forked processes for the settings")
    parser.add_argument("--kept", action="store_true", help="hand the sensitivity the base evaluation's Kept")
    args = parser.parse_args()
    policy = load_policy(args.policy)
    data = load_dataset(Path(args.data), policy=load_policy(args.load_policy))
    kept = Kept() if args.kept else None
    base = evaluate(policy, data, kept=kept)
    load = load_average()
    c0, t0 = cpu_with_workers(), time.perf_counter()
    peak = PeakMemory(os.getpid()).start()
    table = sensitivity(policy, data, base=base, processes=args.processes, kept=kept)
    peak.stop()
    cpu, wall = cpu_with_workers() - c0, time.perf_counter() - t0
    print(f"sensitivity, {2 * len(table)} settings x {len(base.summary):,} managers: CPU {cpu:.1f} s, "
          f"wall {wall:.1f} s (load average {load:.1f} -> {load_average():.1f})")
    print(table[["knob", "cost_low", "cost_high"]].to_string(index=False))
    if args.full:
        knobs = default_knobs(policy)
        c0, t0 = cpu_seconds(), time.perf_counter()
        full = [float(evaluate(k.apply(policy, x), data).summary["employer_cost"].sum())
                for k in knobs for x in (k.low, k.high)]
        cpu, wall = cpu_seconds() - c0, time.perf_counter() - t0
        got = [v for row in table.itertuples() for v in (row.cost_low, row.cost_high)]
        print(f"{len(full)} full evaluations: CPU {cpu:.1f} s, wall {wall:.1f} s (load average "
              f"{load_average():.1f}); costs identical: {got == full}")
    print(f"peak memory (RSS): {peak_mb():,.0f} MB; during the sensitivity, with its workers (PSS): "
          f"{peak.pss / 2 ** 20:,.0f} MB")


def cpu_with_workers() -> float:
    """CPU seconds (user + system) of this process and of its finished children (the forked workers)."""
    return cpu_seconds() + sum(getattr(resource.getrusage(resource.RUSAGE_CHILDREN), f) for f in ("ru_utime",
                                                                                                 "ru_stime"))


if __name__ == "__main__":
    main()
