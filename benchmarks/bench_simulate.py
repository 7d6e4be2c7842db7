"""Benchmark: Monte Carlo cost simulation, 1,000 scenarios x 10,000 managers (bar: 60 s, aim 10 s).

    python benchmarks/bench_simulate.py [--managers 10000] [--scenarios 1000] [--repeat 3]
                                        [--policy data/policies/2026.yaml] [--data FOLDER] [--load-policy YAML]
                                        [--processes 1] [--profile N]

Prints the median of several runs (wall), the CPU time of each run (user + system of this process: on a shared
machine it varies less than wall time) with the load average beside it, the scenarios per second and a hash of
the costs table (the same seed gives the same hash: a speed-up must not change it). ``--data`` reads a dataset
folder (e.g. the shared 10,000-manager bank); without it a sample of ``--managers`` is made for the policy.
``--load-policy``: the policy the data are loaded with (the review loads with this year's policy and simulates
next year's candidate: ``--load-policy data/policies/2025.yaml``). ``--processes``: the batches over that many
forked processes (the review's notebook uses every core); the CPU printed then includes the workers'.
``--profile N``: a cProfile of the first run (CPU time, this process only: use with ``--processes 1``), its N
most expensive entries by cumulative time. At 100,000 managers (``--data /work/bench100k/parquet-100000``) a
run holds about 3.3 GB. Speed is shown here, never asserted in tests.
"""
from __future__ import annotations

import argparse
import cProfile
import hashlib
import pstats
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _measure import load_average, peak_mb  # noqa: E402

from compkit.data import load_dataset  # noqa: E402
from compkit.engine import evaluate  # noqa: E402
from compkit.policy import load_policy  # noqa: E402
from compkit.review import simulate  # noqa: E402
from compkit.sample import make_sample  # noqa: E402


def cpu_with_workers() -> float:
    """CPU seconds (user + system) of this process and of its finished children (the forked workers)."""
    r, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--managers", type=int, default=10_000)
    parser.add_argument("--scenarios", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--policy", default=str(ROOT / "data" / "policies" / "2026.yaml"))
    parser.add_argument("--data", default=None, help="a dataset folder (default: a sample of --managers)")
    parser.add_argument("--load-policy", default=None, help="the policy the data are loaded with (default --policy)")
    parser.add_argument("--processes", type=int, default=1, help="forked processes for the batches")
    parser.add_argument("--profile", type=int, default=0, help="cProfile the first run: its top N entries")
    args = parser.parse_args()
    policy = load_policy(args.policy)
    if args.data:
        data = load_dataset(Path(args.data), policy=load_policy(args.load_policy) if args.load_policy else policy)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            make_sample(args.managers, 2025, seed=1, policy=policy).write(Path(tmp) / "d")
            data = load_dataset(Path(tmp) / "d", policy=policy)
    base = evaluate(policy, data)
    times, cpus, loads = [], [], []
    for i in range(args.repeat):
        load = load_average()
        c0, t0 = cpu_with_workers(), time.perf_counter()
        profile = cProfile.Profile(time.process_time) if args.profile and i == 0 else None
        if profile is not None:
            profile.enable()
        sim = simulate(policy, data, n=args.scenarios, seed=0, base=base, processes=args.processes)
        if profile is not None:
            profile.disable()
        times.append(time.perf_counter() - t0)
        cpus.append(cpu_with_workers() - c0)
        loads.append(load)
        if profile is not None:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(args.profile)
    med = statistics.median(times)
    people = sim.settings["people"]
    digest = hashlib.sha256(sim.costs.to_csv(index=False).encode()).hexdigest()[:16]
    p = sim.percentiles.set_index("component").loc["total"]
    print(f"simulate {args.scenarios:,} scenarios x {people:,} managers ({Path(args.policy).name}, "
          f"{args.processes} process{'es' if args.processes > 1 else ''}): wall {med:.2f} s "
          f"median of {args.repeat} ({', '.join(f'{t:.2f}' for t in times)}); CPU "
          f"{', '.join(f'{c:.2f}' for c in cpus)} s; load average {', '.join(f'{x:.1f}' for x in loads)}; "
          f"{args.scenarios / med:,.0f} scenarios/s  [bar: 60 s, aim 10 s]")
    print(f"total cost P5 / P50 / P95: {p['P5'] / 1e6:,.1f}M / {p['P50'] / 1e6:,.1f}M / {p['P95'] / 1e6:,.1f}M; "
          f"costs sha256 {digest}")
    print(f"peak memory (RSS): {peak_mb():,.0f} MB")


if __name__ == "__main__":
    main()
