"""Benchmark: what gross to net adds to ``evaluate`` for many customer managers x 12 months.

    python benchmarks/bench_tax.py [--managers 100000] [--repeat 3]

Generates the synthetic sample (compkit.sample, seed 2025), loads it, evaluates it ``repeat`` times and prints
the median time of the whole evaluation and of its gross-to-net steps (timed around the engine's own helpers):
monthly gross (base, allowances and commission by month), benefits (五险一金 and annuity by month on the
contribution wage) and tax (cumulative withholding, bonus choice, cliffs, reconciliation, the ``net`` and ``tax``
tables). Speed is shown here, never asserted in tests. The machine has 2 cores.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_evaluate import GENERATE  # noqa: E402  (one script writes the benchmark population)

from compkit import engine  # noqa: E402
from compkit.data import load_dataset  # noqa: E402
from compkit.policy import load_policy  # noqa: E402

STEPS = {"_monthly_gross": "monthly gross", "_benefits": "benefits (五险一金, annuity)", "_net_pay": "tax and net pay"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--managers", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    policy = load_policy(ROOT / "data" / "policies" / "2025.yaml")
    spent: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)  # the process's CPU time: less sensitive to a busy machine
    for name in STEPS:
        original = getattr(engine, name)

        def timed(*a, _f=original, _n=name, **k):
            t0, c0 = time.perf_counter(), time.process_time()
            result = _f(*a, **k)
            spent[_n].append(time.perf_counter() - t0)
            cpu[_n].append(time.process_time() - c0)
            return result

        setattr(engine, name, timed)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-c", GENERATE, str(args.managers), "2025", tmp], check=True,
                       cwd=ROOT)
        data = load_dataset(tmp, policy=policy)
    whole = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        out = engine.evaluate(policy, data)
        whole.append(time.perf_counter() - t0)
    print(f"managers: {args.managers:,}; net table rows: {len(out.net):,}; runs: {args.repeat}")
    print(f"evaluate, median: {statistics.median(whole):.3f} s")
    for name, label in STEPS.items():
        print(f"  {label:<32} median {statistics.median(spent[name]):.3f} s, CPU {statistics.median(cpu[name]):.3f} s"
              "  (runs: " + ", ".join(f"{t:.3f}" for t in spent[name]) + ")")
    total = sum(statistics.median(spent[n]) for n in STEPS)
    tax = statistics.median(spent["_net_pay"])
    print(f"  gross to net in all: {total:.3f} s; tax alone (budget 0.3 s): {tax:.3f} s "
          f"(CPU {statistics.median(cpu['_net_pay']):.3f} s)")
    print(f"  load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
