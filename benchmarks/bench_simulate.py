"""Benchmark: Monte Carlo cost simulation, 1,000 scenarios x 10,000 managers (bar: 60 s, aim 10 s).

    python benchmarks/bench_simulate.py [--managers 10000] [--scenarios 1000] [--repeat 3]
                                        [--policy data/policies/2026.yaml] [--data FOLDER]

Prints the median of several runs (wall), the CPU time of each run (user + system of this process: on a shared
machine it varies less than wall time) with the load average beside it, the scenarios per second and a hash of
the costs table (the same seed gives the same hash: a speed-up must not change it). ``--data`` reads a dataset
folder (e.g. the shared 10,000-manager bank); without it a sample of ``--managers`` is made for the policy.
Speed is shown here, never asserted in tests.
"""
from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _measure import cpu_seconds, load_average, peak_mb  # noqa: E402

from compkit.data import load_dataset  # noqa: E402
from compkit.engine import evaluate  # noqa: E402
from compkit.policy import load_policy  # noqa: E402
from compkit.review import simulate  # noqa: E402
from compkit.sample import make_sample  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--managers", type=int, default=10_000)
    parser.add_argument("--scenarios", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--policy", default=str(ROOT / "data" / "policies" / "2026.yaml"))
    parser.add_argument("--data", default=None, help="a dataset folder (default: a sample of --managers)")
    args = parser.parse_args()
    policy = load_policy(args.policy)
    if args.data:
        data = load_dataset(Path(args.data), policy=policy)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            make_sample(args.managers, 2025, seed=1, policy=policy).write(Path(tmp) / "d")
            data = load_dataset(Path(tmp) / "d", policy=policy)
    base = evaluate(policy, data)
    times, cpus, loads = [], [], []
    for _ in range(args.repeat):
        load = load_average()
        c0, t0 = cpu_seconds(), time.perf_counter()
        sim = simulate(policy, data, n=args.scenarios, seed=0, base=base)
        times.append(time.perf_counter() - t0)
        cpus.append(cpu_seconds() - c0)
        loads.append(load)
    med = statistics.median(times)
    people = sim.settings["people"]
    digest = hashlib.sha256(sim.costs.to_csv(index=False).encode()).hexdigest()[:16]
    p = sim.percentiles.set_index("component").loc["total"]
    print(f"simulate {args.scenarios:,} scenarios x {people:,} managers ({Path(args.policy).name}): wall {med:.2f} s "
          f"median of {args.repeat} ({', '.join(f'{t:.2f}' for t in times)}); CPU "
          f"{', '.join(f'{c:.2f}' for c in cpus)} s; load average {', '.join(f'{x:.1f}' for x in loads)}; "
          f"{args.scenarios / med:,.0f} scenarios/s  [bar: 60 s, aim 10 s]")
    print(f"total cost P5 / P50 / P95: {p['P5'] / 1e6:,.1f}M / {p['P50'] / 1e6:,.1f}M / {p['P95'] / 1e6:,.1f}M; "
          f"costs sha256 {digest}")
    print(f"peak memory (RSS): {peak_mb():,.0f} MB")


if __name__ == "__main__":
    main()
