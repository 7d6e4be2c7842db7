"""Benchmark: load and evaluate a year for many customer managers; compare with a row-by-row implementation.

    python benchmarks/bench_evaluate.py [--managers 100000] [--repeat 3] [--naive-sample 500]

Prints the median of several runs (seconds), the peak resident memory of the process, and the time a
straightforward per-employee Python loop takes for the same scoring and commission on a subsample, scaled up
linearly to the full population. Speed is shown here, never asserted in tests. The machine has 2 cores.
"""
from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _measure import peak_mb  # noqa: E402

from compkit.commission import product_rates  # noqa: E402
from compkit.data import load_dataset  # noqa: E402
from compkit.engine import evaluate  # noqa: E402
from compkit.policy import load_policy  # noqa: E402

GENERATE = """
import sys
from pathlib import Path
from compkit.sample import make_sample
n, seed, folder = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
for name, df in make_sample(managers=n, year=2025, seed=seed).tables.items():
    df.to_parquet(folder / f"{name}.parquet", index=False)
"""


def timed(fn, repeat: int) -> tuple[float, list[float], object]:
    times, result = [], None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, result


def naive_scores_and_commission(policy, data, employee_ids) -> dict[str, tuple[float, float]]:
    """The same metric scores and cycle-to-date commission, one employee, indicator and month at a time."""
    rates = product_rates(policy.commission)
    out = {}
    metric_inds = [i for i in policy.scorecard.indicators if i.source == "metrics"]
    for emp in employee_ids:
        m = data.metrics[data.metrics["employee_id"] == emp]
        perf = 0.0
        for ind in metric_inds:
            rows = m[m["indicator"] == ind.id]
            if ind.aggregate == "sum":
                actual, target = rows["actual"].sum(), rows["target"].sum()
            else:
                actual, target = rows["actual"].mean(), rows["target"].mean()
            if ind.curve.type == "inverse":
                ach = target / actual if actual > 0 else float("inf")
            else:
                ach = actual / target if target > 0 else float("nan")
            score = 0.0 if ach < ind.curve.threshold else 100.0 * min(ach, ind.curve.cap)
            perf += score * ind.weight
        s = data.sales[data.sales["employee_id"] == emp]
        total = 0.0
        for product, r in rates.items():
            cumulative, paid = 0.0, 0.0
            for period in data.periods:
                cumulative += s.loc[(s["product"] == product) & (s["period"] == period), "amount"].sum()
                due = round(float(r.commission(np.array([cumulative]))[0]), 2)
                total += due - paid
                paid = due
        out[emp] = (perf, total)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--managers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--naive-sample", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    policy = load_policy(ROOT / "data" / "policies" / "2025.yaml")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        folder.mkdir()
        # the data are generated in another process, so that the peak memory below is that of load + evaluate
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", GENERATE, str(args.managers), str(args.seed), str(folder)], check=True)
        print(f"managers: {args.managers:,}; generated in another process in {time.perf_counter() - t0:.1f} s")
        load_med, load_all, data = timed(lambda: load_dataset(folder, policy=policy), args.repeat)
        rows = {name: len(data.table(name)) for name in ("metrics", "sales", "ratings", "surveys")}
        print("rows: " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))
    print(f"load + validate (parquet):  {load_med:7.2f} s median of {args.repeat} "
          f"({', '.join(f'{t:.2f}' for t in load_all)})")
    eval_med, eval_all, out = timed(lambda: evaluate(policy, data), args.repeat)
    print(f"evaluate:                   {eval_med:7.2f} s median of {args.repeat} "
          f"({', '.join(f'{t:.2f}' for t in eval_all)})  [bar: 3 s]")
    assert out.reconcile() == [], out.reconcile()
    print(f"peak memory (RSS):          {peak_mb():7.0f} MB  [bar: 4,096 MB]")

    ids = data.employees["employee_id"].iloc[:args.naive_sample].tolist()
    t0 = time.perf_counter()
    naive = naive_scores_and_commission(policy, data, ids)
    naive_t = time.perf_counter() - t0
    scaled = naive_t * len(data.employees) / len(ids)
    # check the loop agrees with the engine on the subsample (commission to the cent)
    s = out.summary.set_index("employee_id")
    diff = max(abs(naive[e][1] - s.loc[e, "commission_gross"]) for e in ids)
    print(f"row-by-row, {len(ids)} managers:  {naive_t:7.2f} s -> scaled to {len(data.employees):,}: "
          f"{scaled:,.0f} s (metric scores and commission only; max commission difference {diff:.2f})")
    print(f"speed-up of evaluate over the loop (scaled): {scaled / eval_med:,.0f}x")


if __name__ == "__main__":
    main()
