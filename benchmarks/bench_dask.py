"""Benchmark: the Monte Carlo on a Dask cluster (a LocalCluster here, or a real one by its scheduler address).

    python benchmarks/bench_dask.py [--managers 100000] [--scenarios 1000] [--batch 50] [--workers 2]
                                    [--scheduler tcp://host:8786] [--single] [--check 20] [--data DIR]

Makes the sample (``compkit sample``, 2026 policy, seed 1), evaluates it once, then runs
``simulate(..., client=...)`` with the scenarios in batches of ``--batch`` spread over the workers. Prints the
wall time, the scaling model (seconds per person-scenario, scenarios per second, the peak memory of each worker
and the size of one batch's arrays), and checks on the first ``--check`` scenarios that the cluster's result
equals the single-process run bit for bit. ``--single`` also times the single-process run of all scenarios.
``--scheduler``: use that cluster instead of starting a LocalCluster (the workers must have compkit installed).
``--data``: a dataset already made (e.g. bench_load.py's 100,000 managers) instead of a new sample. CPU seconds
(the client's and each worker's, user + system) are printed beside the wall times: the machine may be shared.
Speed is shown here, never asserted in tests.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _measure import cpu_seconds, peak_mb  # noqa: E402

from compkit.data import load_dataset  # noqa: E402
from compkit.engine import evaluate  # noqa: E402
from compkit.policy import load_policy  # noqa: E402
from compkit.review import MAX_BATCH_CELLS, simulate  # noqa: E402
from compkit.sample import make_sample  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--managers", type=int, default=100_000)
    ap.add_argument("--scenarios", type=int, default=1_000)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scheduler", default=None)
    ap.add_argument("--single", action="store_true")
    ap.add_argument("--check", type=int, default=20)
    ap.add_argument("--data", type=Path, default=None, help="a dataset to load instead of making a sample")
    args = ap.parse_args()
    from dask.distributed import Client, LocalCluster

    policy = load_policy(ROOT / "data" / "policies" / "2026.yaml")
    t0 = time.perf_counter()
    if args.data is not None:
        data = load_dataset(args.data, policy=policy)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            make_sample(args.managers, 2025, seed=1, policy=policy).write(Path(tmp) / "d")
            data = load_dataset(Path(tmp) / "d", policy=policy)
    base = evaluate(policy, data)
    print(f"{len(data.employees):,} managers made or read, loaded and evaluated in {time.perf_counter() - t0:.1f} s; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)

    def run(n: int, client=None):
        t = time.perf_counter()
        sim = simulate(policy, data, n=n, seed=0, base=base, batch=args.batch, client=client)
        return sim, time.perf_counter() - t

    def worker_cpu(client) -> float:
        return sum(client.run(lambda: sum(__import__("resource").getrusage(
            __import__("resource").RUSAGE_SELF)[:2])).values())

    cluster = None if args.scheduler else LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                                       processes=True, dashboard_address=None)
    with Client(args.scheduler or cluster) as client:
        workers = len(client.scheduler_info()["workers"])
        check = min(args.check, args.scenarios)
        small_here, _ = run(check)
        small_there, _ = run(check, client)
        same = all(np.array_equal(small_here.costs[c].to_numpy(), small_there.costs[c].to_numpy())
                   for c in small_here.costs.columns)
        print(f"first {check} scenarios: cluster result identical bit for bit to the single process: {same}",
              flush=True)
        client.run(lambda: __import__("gc").collect())
        cpu_before, workers_before = cpu_seconds(), worker_cpu(client)
        sim, seconds = run(args.scenarios, client)
        cpu_client, cpu_workers = cpu_seconds() - cpu_before, worker_cpu(client) - workers_before
        peaks = client.run(lambda: __import__("resource").getrusage(
            __import__("resource").RUSAGE_SELF).ru_maxrss / 1024.0)
    if cluster is not None:
        cluster.close()
    people = int(sim.settings["people"])
    person_scenarios = people * args.scenarios
    k = len(policy.commission.products) + sum(i.source == "metrics" for i in policy.scorecard.indicators)
    # the batch simulate runs: --batch, at most MAX_BATCH_CELLS person-scenarios (10 scenarios at 100,000 people)
    batch = max(1, min(args.batch, MAX_BATCH_CELLS // max(people, 1)))
    batch_mb = batch * people * k * 8 / 2 ** 20
    print(f"\n{args.scenarios:,} scenarios x {people:,} people on {workers} worker(s), batches of {batch}"
          f"{'' if batch == args.batch else f' (--batch {args.batch}, at most {MAX_BATCH_CELLS:,} person-scenarios)'}: "
          f"{seconds:.1f} s (CPU: workers {cpu_workers:.1f} s, client {cpu_client:.1f} s); load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"  {cpu_workers / person_scenarios * 1e9:,.1f} ns of workers' CPU per person-scenario")
    print(f"  {seconds / person_scenarios * 1e9:,.1f} ns per person-scenario "
          f"({seconds / person_scenarios * workers * 1e9:,.1f} ns of one worker's time); "
          f"{args.scenarios / seconds:,.1f} scenarios/s")
    print(f"  peak memory per worker: {', '.join(f'{v:,.0f} MB' for v in peaks.values())}; client {peak_mb():,.0f} MB;"
          f" one batch's array of draws (batch x people x {k} indicators and products, float64): {batch_mb:,.0f} MB")
    p = sim.percentiles.set_index("component").loc["total"]
    print(f"  total cost P5 / P50 / P95: {p['P5'] / 1e6:,.1f}M / {p['P50'] / 1e6:,.1f}M / {p['P95'] / 1e6:,.1f}M")
    if args.single:
        cpu_before = cpu_seconds()
        _, single = run(args.scenarios)
        cpu_single = cpu_seconds() - cpu_before
        print(f"  the same in one process: {single:.1f} s, CPU {cpu_single:.1f} s "
              f"({single / person_scenarios * 1e9:,.1f} ns wall, {cpu_single / person_scenarios * 1e9:,.1f} ns CPU "
              "per person-scenario)")


if __name__ == "__main__":
    main()
