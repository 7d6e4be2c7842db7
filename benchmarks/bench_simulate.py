"""Benchmark: Monte Carlo cost simulation, 1,000 scenarios x 10,000 managers (bar: 60 s, aim 10 s).

    python benchmarks/bench_simulate.py [--managers 10000] [--scenarios 1000] [--repeat 3]

Prints the median of several runs and the scenarios per second. Speed is shown here, never asserted in tests.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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
    args = parser.parse_args()
    policy = load_policy(ROOT / "data" / "policies" / "2026.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        make_sample(args.managers, 2025, seed=1, policy=policy).write(Path(tmp) / "d")
        data = load_dataset(Path(tmp) / "d", policy=policy)
    base = evaluate(policy, data)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        sim = simulate(policy, data, n=args.scenarios, seed=0, base=base)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    p = sim.percentiles.set_index("component").loc["total"]
    print(f"simulate {args.scenarios:,} scenarios x {args.managers:,} managers: {med:.2f} s median of {args.repeat} "
          f"({', '.join(f'{t:.2f}' for t in times)}); {args.scenarios / med:,.0f} scenarios/s  [bar: 60 s, aim 10 s]")
    print(f"total cost P5 / P50 / P95: {p['P5'] / 1e6:,.1f}M / {p['P50'] / 1e6:,.1f}M / {p['P95'] / 1e6:,.1f}M")
    print(f"peak memory (RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
